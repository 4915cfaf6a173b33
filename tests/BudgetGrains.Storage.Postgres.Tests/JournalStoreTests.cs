using BudgetGrains.Grains;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Postgres.Budget;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>The PostgreSQL journal's batches: all of a batch or none of it, and counters that always equal the ledger.</summary>
[Collection(PostgresCollection.Name)]
public sealed class JournalStoreTests(PostgresFixture postgres)
{
    private static readonly StateKey GrainA = new(GrainTypes.Reservation, "r-a");
    private static readonly StateKey GrainB = new(GrainTypes.Reservation, "r-b");

    [SkippableFact]
    public async Task ABatchIsStoredWhole()
    {
        await using var store = await PostgresJournalServices.OpenAsync(await postgres.NewDatabaseAsync());
        var read = new PostgresBudgetStore(store.ReadSource);
        await store.WriteBatchAsync(
        [
            new JournalWrite(GrainA, [1, 2, 3], Hold("team/t", 100, "r-a", 5_000)),
            new JournalWrite(GrainB, [4], [.. Hold("team/t", 50, "r-b", 6_000), .. Hold("tenant/x", 50, "r-b", 6_000)]),
        ], CancellationToken.None);

        Assert.Equal([1, 2, 3], await store.ReadStateAsync(GrainA, CancellationToken.None));
        Assert.Equal([4], await store.ReadStateAsync(GrainB, CancellationToken.None));
        Assert.Null(await store.ReadStateAsync(new StateKey(GrainTypes.Reservation, "never"), CancellationToken.None));
        var team = await read.ReadCountersAsync("team/t", 0, CancellationToken.None);
        Assert.Equal((150L, 2), (team.HeldNanos, team.OpenHolds));
        Assert.Equal([new OpenHold(5_000, "r-a"), new OpenHold(6_000, "r-b")], await read.ListOpenHoldsAsync(OpenHold.First, 10, CancellationToken.None));

        // A grain written twice in one batch keeps its last state; a hold opened and closed in it leaves no index entry.
        await store.WriteBatchAsync(
        [
            new JournalWrite(GrainA, [9], Commit("team/t", "r-a", estimate: 100, actual: 70, expiresAt: 5_000)),
            new JournalWrite(GrainA, [10], []),
            new JournalWrite(new StateKey(GrainTypes.Reservation, "r-c"), [1], Hold("team/t", 5, "r-c", 7_000)),
            new JournalWrite(new StateKey(GrainTypes.Reservation, "r-c"), [2], Release("team/t", 5, "r-c", 7_000)),
        ], CancellationToken.None);
        Assert.Equal([10], await store.ReadStateAsync(GrainA, CancellationToken.None));
        team = await read.ReadCountersAsync("team/t", 0, CancellationToken.None);
        Assert.Equal((70L, 50L, 1, 1L), (team.SpentNanos, team.HeldNanos, team.OpenHolds, team.Commits));
        Assert.Equal([new OpenHold(6_000, "r-b")], await read.ListOpenHoldsAsync(OpenHold.First, 10, CancellationToken.None));
        Assert.Equal(70, (await read.SumLedgerByScopeAsync(CancellationToken.None))["team/t"]);
    }

    [SkippableFact]
    public async Task ASecondCloseOfOneHoldIsRefusedWholeAndTheRestOfItsBatchIsStored()
    {
        // Two activations of one reservation (a silo taken for dead, and its replacement) both expire its hold: the first
        // close counts, the second is refused with its deltas, so the scope's holds are taken off once.
        await using var store = await PostgresJournalServices.OpenAsync(await postgres.NewDatabaseAsync());
        var read = new PostgresBudgetStore(store.ReadSource);
        await store.WriteBatchAsync(
        [
            new JournalWrite(GrainA, [1], Hold("team/t", 100, "r-a", 5_000)),
            new JournalWrite(GrainB, [1], Hold("team/t", 40, "r-b", 6_000)),
        ], CancellationToken.None);
        Assert.Empty(await store.WriteBatchAsync([new JournalWrite(GrainA, [2], Release("team/t", 100, "r-a", 5_000))], CancellationToken.None));

        var refused = await store.WriteBatchAsync(
        [
            new JournalWrite(GrainB, [3], Release("team/t", 40, "r-b", 6_000)),
            new JournalWrite(GrainA, [3], Release("team/t", 100, "r-a", 5_000)),
        ], CancellationToken.None);

        Assert.Equal([1], refused);
        Assert.Equal([2], await store.ReadStateAsync(GrainA, CancellationToken.None));
        Assert.Equal([3], await store.ReadStateAsync(GrainB, CancellationToken.None));
        var team = await read.ReadCountersAsync("team/t", 0, CancellationToken.None);
        Assert.Equal((0L, 0), (team.HeldNanos, team.OpenHolds));
        Assert.Empty(await read.ListOpenHoldsAsync(OpenHold.First, 10, CancellationToken.None));
    }

    [SkippableFact]
    public async Task AFailedBatchStoresNothingAndTheNextOneIsStored()
    {
        await using var store = await PostgresJournalServices.OpenAsync(await postgres.NewDatabaseAsync());
        var read = new PostgresBudgetStore(store.ReadSource);
        await store.WriteBatchAsync([new JournalWrite(GrainA, [1], Hold("team/t", 100, "r-a", 5_000))], CancellationToken.None);
        await store.WriteBatchAsync([new JournalWrite(GrainA, [2], Commit("team/t", "r-a", 100, 80, 5_000))], CancellationToken.None);
        var before = await read.ReadAllCountersAsync(CancellationToken.None);

        // The ledger's reservation id is unique: a second ledger entry for r-a (here a late one, closing no hold: a second
        // close would be refused alone, FencingTests) cannot be stored, and takes its whole batch with it.
        var failing = new JournalWrite[]
        {
            new(GrainB, [7], [.. Hold("team/t", 40, "r-b", 6_000), .. Hold("tenant/y", 40, "r-b", 6_000)]),
            new(GrainA, [3], [.. Commit("team/t", "r-a", 100, 5, 5_000).Where(r => r is not HoldClosed)]),
        };
        var error = await Assert.ThrowsAsync<PostgresException>(() => store.WriteBatchAsync(failing, CancellationToken.None));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, error.SqlState);

        Assert.Null(await store.ReadStateAsync(GrainB, CancellationToken.None));
        Assert.Equal([2], await store.ReadStateAsync(GrainA, CancellationToken.None));
        Assert.Equal(before, await read.ReadAllCountersAsync(CancellationToken.None));
        Assert.Empty(await read.ListOpenHoldsAsync(OpenHold.First, 10, CancellationToken.None));

        // The writer's connection is still good.
        await store.WriteBatchAsync([new JournalWrite(GrainB, [8], Hold("team/t", 40, "r-b", 6_000))], CancellationToken.None);
        Assert.Equal([8], await store.ReadStateAsync(GrainB, CancellationToken.None));
        Assert.Equal(40, (await read.ReadCountersAsync("team/t", 0, CancellationToken.None)).HeldNanos);
    }

    /// <summary>The largest batch the journal sends (JournalService.MaxBatch writes), each a commit over a 5-scope chain
    /// with its ledger entry: one NpgsqlBatch of about a thousand statements, stored whole.</summary>
    [SkippableFact]
    public async Task AFullBatchOfCommitsIsStoredWhole()
    {
        await using var store = await PostgresJournalServices.OpenAsync(await postgres.NewDatabaseAsync());
        var read = new PostgresBudgetStore(store.ReadSource);
        string[] chain = ["agent/a", "feature/f", "team/t", "cost_center/c", "tenant/x"];
        var batch = Enumerable.Range(0, JournalService.MaxBatch).Select(i => new JournalWrite(new StateKey(GrainTypes.Reservation, "r-" + i),
            new byte[200], [.. chain.Select(s => new ScopeCounterDelta(s, SpentNanos: i, Commits: 1)), Ledger("r-" + i, chain, 0, i, i)])).ToList();
        await store.WriteBatchAsync(batch, CancellationToken.None);

        var expected = Enumerable.Range(0, JournalService.MaxBatch).Sum(i => (long)i);
        var ledger = await read.SumLedgerByScopeAsync(CancellationToken.None);
        foreach (var scope in chain)
        {
            Assert.Equal(expected, ledger[scope]);
            var counters = await read.ReadCountersAsync(scope, 0, CancellationToken.None);
            Assert.Equal((expected, (long)JournalService.MaxBatch), (counters.SpentNanos, counters.Commits));
        }
    }

    /// <summary>Reads arriving together are coalesced into shared queries: each still gets its own grain's state, or null.</summary>
    [SkippableFact]
    public async Task ConcurrentStateReadsEachGetTheirOwnState()
    {
        await using var store = await PostgresJournalServices.OpenAsync(await postgres.NewDatabaseAsync());
        await store.WriteBatchAsync([.. Enumerable.Range(0, 300).Select(i =>
            new JournalWrite(new StateKey(GrainTypes.Reservation, "r-" + i), BitConverter.GetBytes(i), []))], CancellationToken.None);
        var reads = Enumerable.Range(0, 1_000).Select(async i =>
            (i, await store.ReadStateAsync(new StateKey(i % 2 == 0 ? GrainTypes.Reservation : GrainTypes.Scope, "r-" + (i % 600)), CancellationToken.None)));
        foreach (var (i, state) in await Task.WhenAll(reads))
            Assert.Equal(i % 2 == 0 && i % 600 < 300 ? BitConverter.GetBytes(i % 600) : null, state);
    }

    /// <summary>The writer's session is terminated between two batches (as a PostgreSQL restart or a network cut would):
    /// the next batch finds its connection broken, learns from its mark that it was not committed, and goes again whole
    /// on a new connection, which takes the writer lock again.</summary>
    [SkippableFact]
    public async Task ABatchWhoseConnectionBrokeBeforeTheCommitIsWrittenAgainOnANewConnection()
    {
        var database = await postgres.NewDatabaseAsync();
        await using var store = await PostgresJournalServices.OpenAsync(database);
        var read = new PostgresBudgetStore(store.ReadSource);
        await store.WriteBatchAsync([new JournalWrite(GrainA, [1], Hold("team/t", 100, "r-a", 5_000))], CancellationToken.None);

        var terminated = await SchemaTests.ScalarAsync(database, $"""
            SELECT pg_terminate_backend(pid) FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = {PostgresJournalStore.WriterLockKey}
            """);
        Assert.Equal(true, terminated);
        await store.WriteBatchAsync([new JournalWrite(GrainB, [2], Hold("team/t", 50, "r-b", 6_000))], CancellationToken.None);

        Assert.Equal([2], await store.ReadStateAsync(GrainB, CancellationToken.None));
        Assert.Equal((150L, 2), ((await read.ReadCountersAsync("team/t", 0, CancellationToken.None)).HeldNanos,
            (await read.ReadCountersAsync("team/t", 0, CancellationToken.None)).OpenHolds));
        // The new connection holds the writer lock: another store is still refused.
        var second = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresJournalServices.OpenAsync(database));
        Assert.Contains("holds its writer lock", second.Message, StringComparison.Ordinal);
    }

    /// <summary>Many writers through the journal service (group commit), random reserves, commits and releases over
    /// overlapping chains and two periods: at the end the counters equal the ledger sums per scope and per period, and
    /// the held amounts equal the open holds.</summary>
    [SkippableFact]
    public async Task CountersEqualLedgerSumsUnderGroupCommit()
    {
        await using var store = await PostgresJournalServices.OpenAsync(await postgres.NewDatabaseAsync());
        var journal = new JournalService(store, NullLogger<JournalService>.Instance);
        var read = new PostgresBudgetStore(store.ReadSource);
        string[] roots = ["cost_center/c", "tenant/a", "tenant/b"];
        var open = new System.Collections.Concurrent.ConcurrentDictionary<string, (string[] Chain, long Estimate)>();
        await Parallel.ForAsync(0, 2_000, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            var random = new Random(i);
            var id = "r-" + i;
            string[] chain = ["agent/" + (i % 7), "team/" + (i % 3), roots[i % roots.Length]];
            var estimate = random.Next(1, 1_000);
            var expiresAt = 10_000 + i;
            var key = new StateKey(GrainTypes.Reservation, id);
            await journal.AppendAsync(new JournalWrite(key, [1], [.. chain.Select(s => new ScopeCounterDelta(s, HeldNanos: estimate, OpenHolds: 1)), new HoldOpened(id, expiresAt)]));
            switch (random.Next(3))
            {
                case 0:
                    var actual = random.Next(0, 2_000);
                    var period = random.Next(2) * 3_600_000L;
                    await journal.AppendAsync(new JournalWrite(key, [2],
                    [
                        .. chain.Select(s => new ScopeCounterDelta(s, period, SpentNanos: actual, HeldNanos: -estimate, OpenHolds: -1, Commits: 1)),
                        Ledger(id, chain, period, estimate, actual), new HoldClosed(id, expiresAt),
                    ]));
                    break;
                case 1:
                    await journal.AppendAsync(new JournalWrite(key, [3],
                        [.. chain.Select(s => new ScopeCounterDelta(s, HeldNanos: -estimate, OpenHolds: -1)), new HoldClosed(id, expiresAt)]));
                    break;
                default:
                    open[id] = (chain, estimate);
                    break;
            }
        });
        await journal.DisposeAsync();
        Assert.True(journal.Statistics.Batches < journal.Statistics.Writes, $"no group commit: {journal.Statistics}");
        Assert.Equal(0, journal.Statistics.FailedBatches);

        var counters = await read.ReadAllCountersAsync(CancellationToken.None);
        var ledger = await read.SumLedgerByScopeAsync(CancellationToken.None);
        foreach (var (scope, c) in counters)
        {
            Assert.Equal(ledger.GetValueOrDefault(scope), c.SpentNanos);
            Assert.Equal(open.Values.Where(h => h.Chain.Contains(scope)).Sum(h => h.Estimate), c.HeldNanos);
            Assert.Equal(open.Values.Count(h => h.Chain.Contains(scope)), c.OpenHolds);
        }
        Assert.Equal((await read.SumLedgerByPeriodAsync(CancellationToken.None)).OrderBy(p => p.Key).ToList(),
            (await read.SpentByPeriodAsync(CancellationToken.None)).Where(p => p.Value != 0).OrderBy(p => p.Key).ToList());
        var holds = await read.ListOpenHoldsAsync(OpenHold.First, 10_000, CancellationToken.None);
        Assert.Equal(open.Keys.Order(StringComparer.Ordinal), holds.Select(h => h.ReservationId).Order(StringComparer.Ordinal));
    }

    /// <summary>A hold on one scope, with its entry in the open-hold index.</summary>
    private static IJournalRecord[] Hold(string scope, long nanos, string id, long expiresAt) =>
        [new ScopeCounterDelta(scope, HeldNanos: nanos, OpenHolds: 1), new HoldOpened(id, expiresAt)];

    private static IJournalRecord[] Release(string scope, long nanos, string id, long expiresAt) =>
        [new ScopeCounterDelta(scope, HeldNanos: -nanos, OpenHolds: -1), new HoldClosed(id, expiresAt)];

    private static IJournalRecord[] Commit(string scope, string id, long estimate, long actual, long expiresAt) =>
    [
        new ScopeCounterDelta(scope, SpentNanos: actual, HeldNanos: -estimate, OpenHolds: -1, Commits: 1),
        Ledger(id, [scope], 0, estimate, actual),
        new HoldClosed(id, expiresAt),
    ];

    private static LedgerEntry Ledger(string id, string[] chain, long period, long estimate, long actual) => new(id, chain,
        [.. chain.Select(_ => period)], new Dictionary<string, string> { ["model"] = "m" }, estimate, actual, "m", 1, 0, 2, 0, "ok",
        false, actual > estimate, 1, 2);
}
