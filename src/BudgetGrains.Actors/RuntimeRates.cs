namespace BudgetGrains.Actors;

/// <summary>What a runtime did between two <see cref="RuntimeStatistics"/> snapshots, per second.</summary>
public sealed record RuntimeRates(
    long Activations,
    long MessagesQueued,
    double TurnsPerSecond,
    long TurnLatencyP99Microseconds,
    double WritesPerSecond,
    double WritesPerBatch,
    long FailedBatches)
{
    /// <summary>Rates over <paramref name="elapsed"/>. The p99 is the upper bound of the bucket holding the 99th
    /// percentile turn (long.MaxValue when it is in the open-ended last bucket; 0 when no turn ran).</summary>
    public static RuntimeRates Between(RuntimeStatistics before, RuntimeStatistics after, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var turns = after.TurnsCompleted - before.TurnsCompleted;
        var batches = after.GroupCommitBatches - before.GroupCommitBatches;
        var writes = after.GroupCommitWrites - before.GroupCommitWrites;
        return new RuntimeRates(
            after.Activations,
            after.MessagesQueued,
            turns / seconds,
            P99(before.TurnLatencyCounts, after),
            writes / seconds,
            batches == 0 ? 0 : (double)writes / batches,
            after.GroupCommitFailedBatches - before.GroupCommitFailedBatches);
    }

    public override string ToString() =>
        $"activations {Activations}, turns {TurnsPerSecond:F0}/s (p99 {(TurnLatencyP99Microseconds == long.MaxValue ? "over max" : TurnLatencyP99Microseconds + " µs")}), " +
        $"queued {MessagesQueued}, writes {WritesPerSecond:F0}/s ({WritesPerBatch:F1} per batch), failed batches {FailedBatches}";

    private static long P99(IReadOnlyList<long> before, RuntimeStatistics after)
    {
        var counts = after.TurnLatencyCounts;
        long total = 0;
        for (var i = 0; i < counts.Count; i++) total += counts[i] - before[i];
        if (total == 0) return 0;
        var rank = (long)Math.Ceiling(total * 0.99);
        long seen = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            seen += counts[i] - before[i];
            if (seen >= rank)
                return i < after.TurnLatencyBucketUpperBoundsMicroseconds.Count ? after.TurnLatencyBucketUpperBoundsMicroseconds[i] : long.MaxValue;
        }
        return long.MaxValue;
    }
}
