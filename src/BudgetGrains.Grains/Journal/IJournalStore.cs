namespace BudgetGrains.Grains.Journal;

/// <summary>The backend of the journal (SQLite embedded, PostgreSQL for a cluster): grain state and journal records in one
/// database, each batch one durable transaction.</summary>
public interface IJournalStore
{
    /// <summary>The last written state of a grain, or null if none was ever written.</summary>
    Task<byte[]?> ReadStateAsync(StateKey grain, CancellationToken cancellationToken);

    /// <summary>Writes a whole batch in one durable transaction: all of it or none of it, durable when the task completes.</summary>
    Task WriteBatchAsync(IReadOnlyList<JournalWrite> batch, CancellationToken cancellationToken);
}
