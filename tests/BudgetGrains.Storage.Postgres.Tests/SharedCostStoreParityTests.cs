using System.Text.Json;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Postgres.Allocation;
using BudgetGrains.Storage.Sqlite;
using BudgetGrains.Storage.Sqlite.Allocation;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>The allocation's store (ISharedCostStore) answers on PostgreSQL as on SQLite: costs replaced per pool and period,
/// an overlapping period refused with nothing stored, the ledger summed per tenant and per feature (else agent), open holds.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SharedCostStoreParityTests(PostgresFixture postgres) : IDisposable
{
    private const long Day = 86_400_000;
    private const long Start = 1_793_577_600_000;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "budgetgrains-shared-cost-parity-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task SharedCostsLedgerSumsAndHoldsAnswerAsOnSqlite()
    {
        var connectionString = await postgres.NewDatabaseAsync();
        Directory.CreateDirectory(_directory);
        await using var sqlite = SqliteJournalServices.Open(Path.Combine(_directory, "budgetgrains.db"));
        await using var pg = await PostgresJournalServices.OpenAsync(connectionString);
        string[][] chains = [["tenant/t1", "feature/f1", "team/x"], ["agent/a1", "tenant/t2"], ["feature/f2"], ["team/x"]];
        var records = Enumerable.Range(0, 40).Select(n => (IJournalRecord)new LedgerEntry($"r-{n}", chains[n % 4], chains[n % 4].Select(_ => 0L).ToList(),
                new Dictionary<string, string>(), 1, 1_000 + n, "m", n, 2, 3, 4, "", false, false, Start + n * 7_200_000 - 1, Start + n * 7_200_000))
            .Append(new ScopeCounterDelta("tenant/t1", HeldNanos: 500, OpenHolds: 1))
            .Append(new ScopeCounterDelta("agent/a1", HeldNanos: 70, OpenHolds: 1))
            .Append(new ScopeCounterDelta("team/x", HeldNanos: 9, OpenHolds: 1))
            .ToList();
        var write = new[] { new JournalWrite(new StateKey("test", "shared-costs"), null, records) };
        await sqlite.WriteBatchAsync(write, CancellationToken.None);
        await pg.WriteBatchAsync(write, CancellationToken.None);
        ISharedCostStore lite = new SqliteSharedCostStore(sqlite.DatabasePath, sqlite.OpenReadConnection), post = new PostgresSharedCostStore(pg.ReadSource);
        SharedCostEntry Cost(string pool, long start, long end, long nanos) => new(pool, start, end, nanos, "USD", "tokens", "tenant", false, 1);

        foreach (var store in new[] { lite, post })
        {
            Assert.Equal(0, await store.ReplaceAsync([Cost("gpu", Start, Start + Day, 10), Cost("vector", Start, Start + 2 * Day, 5)], CancellationToken.None));
            Assert.Equal(1, await store.ReplaceAsync([Cost("gpu", Start, Start + Day, 20), Cost("gpu", Start + Day, Start + 2 * Day, 30)], CancellationToken.None));
            var overlap = await Assert.ThrowsAsync<SharedCostOverlapException>(() =>
                store.ReplaceAsync([Cost("new", Start, Start + Day, 1), Cost("vector", Start + Day, Start + 3 * Day, 1)], CancellationToken.None));
            Assert.Contains("pool vector is imported already", overlap.Message, StringComparison.Ordinal);
        }

        var costs = await lite.ReadAsync(Start, Start + 2 * Day, 100, CancellationToken.None);
        Assert.Equal(JsonSerializer.Serialize(costs), JsonSerializer.Serialize(await post.ReadAsync(Start, Start + 2 * Day, 100, CancellationToken.None)));
        Assert.Equal([("gpu", 20L), ("gpu", 30L), ("vector", 5L)], costs.Select(c => (c.Pool, c.AmountNanos)));
        foreach (var dimension in new[] { SharedCosts.Tenant, SharedCosts.Feature })
        {
            var usage = await lite.ReadDriverUsageAsync(dimension, Start, Start + 2 * Day, 100, CancellationToken.None);
            Assert.Equal(JsonSerializer.Serialize(usage),
                JsonSerializer.Serialize(await post.ReadDriverUsageAsync(dimension, Start, Start + 2 * Day, 100, CancellationToken.None)));
            Assert.Equal(records.OfType<LedgerEntry>().Count(e => e.CommittedAtUnixMs < Start + 2 * Day), usage.Sum(u => u.Calls));
            var held = await lite.ReadHeldAsync(dimension, 100, CancellationToken.None);
            Assert.Equal(held, await post.ReadHeldAsync(dimension, 100, CancellationToken.None));
        }
        Assert.Equal(["", "agent/a1", "feature/f1", "feature/f2"],
            (await post.ReadDriverUsageAsync(SharedCosts.Feature, Start, Start + 2 * Day, 100, CancellationToken.None)).Select(u => u.Scope));
        Assert.Equal(["", "tenant/t1", "tenant/t2"],
            (await post.ReadDriverUsageAsync(SharedCosts.Tenant, Start, Start + 2 * Day, 100, CancellationToken.None)).Select(u => u.Scope));
        Assert.Equal([("agent/a1", 70L)], await post.ReadHeldAsync(SharedCosts.Feature, 100, CancellationToken.None));
        Assert.Equal([("tenant/t1", 500L)], await post.ReadHeldAsync(SharedCosts.Tenant, 100, CancellationToken.None));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
