namespace BudgetGrains.Grains.Journal;

/// <summary>A snapshot of the journal's counters since the silo started.</summary>
/// <param name="Batches">Transactions written (successful or not).</param>
/// <param name="Writes">Grain writes handed to the backend in those transactions.</param>
/// <param name="FailedBatches">Transactions that threw.</param>
public sealed record JournalStatistics(long Batches, long Writes, long FailedBatches)
{
    /// <summary>What the journal did between two snapshots, as one log line.</summary>
    public static string RatesBetween(JournalStatistics before, JournalStatistics after, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var (batches, writes) = (after.Batches - before.Batches, after.Writes - before.Writes);
        return $"journal writes {writes / seconds:F0}/s ({(batches == 0 ? 0 : (double)writes / batches):F1} per batch), " +
               $"failed batches {after.FailedBatches - before.FailedBatches}";
    }
}
