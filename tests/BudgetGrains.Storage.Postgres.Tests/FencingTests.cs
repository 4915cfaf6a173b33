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

    [SkippableFact]
    public async Task ASecondCommitOfAClosedHoldIsRefusedAloneAndTheRestOfItsBatchIsStored()
    {
        var database = await postgres.NewDatabaseAsync();
        await using var store = await PostgresJournalServices.OpenAsync(database, exclusive: false);
        var key = new StateKey(GrainTypes.Reservation, "twice");
        Assert.Empty(await store.WriteBatchAsync([new JournalWrite(key, [1], Hold("team/t", 100, "twice"))], CancellationToken.None));
        IJournalRecord[] Commit() =>
        [
            new ScopeCounterDelta("team/t", HeldNanos: -100, OpenHolds: -1), new ScopeCounterDelta("team/t", SpentNanos: 60, Commits: 1),
            new LedgerEntry("twice", ["team/t"], [0], new Dictionary<string, string>(), 100, 60, "", 0, 0, 0, 0, "ok", false, false, 1, 2),
            new HoldClosed("twice", 5_000),
        ];
        Assert.Empty(await store.WriteBatchAsync([new JournalWrite(key, [2], Commit())], CancellationToken.None));

        // Another copy of the reservation (a silo taken for dead and its replacement) commits it again, in a batch with
        // another request's hold: the second commit alone is refused, by the closed hold, not the ledger's unique id.
        var other = new StateKey(GrainTypes.Reservation, "other");
        var refused = await store.WriteBatchAsync([new JournalWrite(key, [3], Commit()), new JournalWrite(other, [4], Hold("team/t", 7, "other"))],
            CancellationToken.None);

        Assert.Equal([0], refused);
        Assert.Equal([2], await store.ReadStateAsync(key, CancellationToken.None));
        Assert.Equal([4], await store.ReadStateAsync(other, CancellationToken.None));
        var counters = await new PostgresBudgetStore(store.ReadSource).ReadCountersAsync("team/t", 0, CancellationToken.None);
        Assert.Equal((7L, 1, 60L), (counters.HeldNanos, counters.OpenHolds, counters.SpentNanos));
    }

    private static IJournalRecord[] Hold(string scope, long nanos, string id) =>
        [new ScopeCounterDelta(scope, HeldNanos: nanos, OpenHolds: 1), new HoldOpened(id, 5_000)];
}
