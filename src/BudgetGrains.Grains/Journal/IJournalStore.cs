namespace BudgetGrains.Grains.Journal;

/// <summary>The backend of the journal (SQLite embedded, PostgreSQL for a cluster): grain state and journal records in one
/// database, each batch one durable transaction.</summary>
public interface IJournalStore
{
    /// <summary>The last written state of a grain, or null if none was ever written.</summary>
    Task<byte[]?> ReadStateAsync(StateKey grain, CancellationToken cancellationToken);

    /// <summary>Writes a whole batch in one durable transaction, durable when the task completes: every write of it, or
    /// (an exception) none. The exception: writes whose <see cref="JournalWrite.Fences"/> name an epoch that is no longer
    /// current are left out whole, and their positions in the batch returned; the rest is stored.</summary>
    Task<IReadOnlyList<int>> WriteBatchAsync(IReadOnlyList<JournalWrite> batch, CancellationToken cancellationToken);

    /// <summary>A new activation of <paramref name="scope"/> claims it: the scope's epoch, bumped atomically, is returned;
    /// writes fenced with an older epoch are refused from now on. A store that only one silo can open (SQLite, under its
    /// data-directory lock) has no stale activations and may answer 0.</summary>
    Task<long> ClaimEpochAsync(string scope, CancellationToken cancellationToken) => Task.FromResult(0L);

    /// <summary>
    /// True when the state of a reservation with an open hold is kept in the open-hold index (it comes with
    /// <see cref="Storage.HoldOpened"/>) instead of under the reservation's key, where it goes once the hold closes.
    /// A reserve then writes no row keyed by its random request id. Only for a store one silo opens (SQLite under its
    /// data-directory lock): that silo's reservation shards load their open holds when they activate
    /// (<see cref="Reservations.OpenHoldStates"/>), so a reservation not in a shard's memory has no open hold.
    /// </summary>
    bool KeepsOpenHoldStates => false;
}
