using BudgetGrains.Grains;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Postgres.Budget;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>Epoch fencing in the PostgreSQL journal (docs/decisions/0028-fencing.md): a write carrying an epoch that is no
/// longer current is refused whole, and the other writes of its batch are stored.</summary>
[Collection(PostgresCollection.Name)]
public sealed class FencingTests(PostgresFixture postgres)
{
    [SkippableFact]
    public async Task AStaleWriteIsRefusedWholeAndTheRestOfItsBatchIsStored()
    {
        var database = await postgres.NewDatabaseAsync();
        // Two silos' stores on one database, as in a cluster (no writer lock).
        await using var silo1 = await PostgresJournalServices.OpenAsync(database, exclusive: false);
        await using var silo2 = await PostgresJournalServices.OpenAsync(database, exclusive: false);
        var old = await silo1.ClaimEpochAsync("team/t", CancellationToken.None);
        var current = await silo2.ClaimEpochAsync("team/t", CancellationToken.None); // the scope moved to silo 2
        Assert.Equal(old + 1, current);
        var other = await silo1.ClaimEpochAsync("tenant/x", CancellationToken.None);

        var stale = new StateKey(GrainTypes.Reservation, "stale");
        var live = new StateKey(GrainTypes.Reservation, "live");
        var unfenced = new StateKey(GrainTypes.Reservation, "unfenced");
        var refused = await silo1.WriteBatchAsync(
        [
            new JournalWrite(live, [1], Hold("tenant/x", 7, "live"), [new ScopeFence("tenant/x", other)]),
            new JournalWrite(stale, [2], [.. Hold("team/t", 100, "stale"), .. Hold("tenant/x", 100, "stale")],
                [new ScopeFence("team/t", old), new ScopeFence("tenant/x", other)]),
            new JournalWrite(unfenced, [3], []),
        ], CancellationToken.None);

        Assert.Equal([1], refused);
        Assert.Null(await silo2.ReadStateAsync(stale, CancellationToken.None));
        Assert.Equal([1], await silo2.ReadStateAsync(live, CancellationToken.None));
        Assert.Equal([3], await silo2.ReadStateAsync(unfenced, CancellationToken.None));
        var read = new PostgresBudgetStore(silo2.ReadSource);
        Assert.Equal((0L, 0), ((await read.ReadCountersAsync("team/t", 0, CancellationToken.None)).HeldNanos,
            (await read.ReadCountersAsync("team/t", 0, CancellationToken.None)).OpenHolds));
        Assert.Equal(7, (await read.ReadCountersAsync("tenant/x", 0, CancellationToken.None)).HeldNanos);

        // The live activation's write goes through, from either silo.
        Assert.Empty(await silo1.WriteBatchAsync([new JournalWrite(stale, [4], Hold("team/t", 100, "stale"), [new ScopeFence("team/t", current)])],
            CancellationToken.None));
        Assert.Equal(100, (await read.ReadCountersAsync("team/t", 0, CancellationToken.None)).HeldNanos);
    }

    private static IJournalRecord[] Hold(string scope, long nanos, string id) =>
        [new ScopeCounterDelta(scope, HeldNanos: nanos, OpenHolds: 1), new HoldOpened(id, 5_000)];
}
