using System.Text.Json;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Meters;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Postgres.Budget;
using BudgetGrains.Storage.Sqlite;
using BudgetGrains.Storage.Sqlite.Budget;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>
/// The export pages (ILedgerExport) answer on PostgreSQL exactly as on SQLite: the same ledger and usage written to both,
/// then read a small keyset page at a time (so every page boundary is crossed) with time ranges and scope prefixes
/// ("_" and "%" included), and the rows compared; and every row is read exactly once.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ExportParityTests(PostgresFixture postgres) : IDisposable
{
    private const long Day = 86_400_000;
    private const long Start = 1_764_547_200_000;
    private static readonly string[] Scopes = ["team/a", "team/a_b", "team/a%c", "team/B", "tenant/x"];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "budgetgrains-export-parity-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task LedgerAndUsagePagesAnswerAsOnSqlite()
    {
        var connectionString = await postgres.NewDatabaseAsync();
        Directory.CreateDirectory(_directory);
        await using var sqlite = SqliteJournalServices.Open(Path.Combine(_directory, "budgetgrains.db"));
        await using var pg = await PostgresJournalServices.OpenAsync(connectionString);
        var random = new Random(35);
        for (var batch = 0; batch < 5; batch++)
        {
            var records = new List<IJournalRecord>();
            for (var i = 0; i < 50; i++)
            {
                var n = batch * 50 + i;
                var at = Start + random.NextInt64(0, 3 * Day);
                records.Add(new LedgerEntry($"r-{n}", [Scopes[n % Scopes.Length], "feature/f"], [0, 0],
                    new Dictionary<string, string> { ["provider"] = n % 2 == 0 ? "openai" : "anthropic", ["note"] = "a,\"b\"" }, 10, n * 7, "m" + n % 3,
                    n, n / 2, n / 3, 0, "resolved", n % 5 == 0, false, at - 5, at));
                records.Add(new UsageDelta(Scopes[n % Scopes.Length], Start + n % 3 * Day, "model", "m" + n % 3, n * 7, 1, n, n / 2, n / 3, 0));
                if (n % 4 == 0)
                    records.Add(new MeterDelta($"r-{n}", [Scopes[n % Scopes.Length], "feature/f"], [Start + n % 3 * Day, 0],
                        [new MeterCharge("gpu_seconds", n, n * 10), new MeterCharge("tool_calls", 1, 2)], at));
            }
            var write = new[] { new JournalWrite(new StateKey("test", "export-" + batch), null, records) };
            await sqlite.WriteBatchAsync(write, CancellationToken.None);
            await pg.WriteBatchAsync(write, CancellationToken.None);
        }
        ILedgerExport lite = new SqliteLedgerExport(sqlite.OpenReadConnection), post = new PostgresLedgerExport(pg.ReadSource);

        foreach (var (from, to) in new[] { (0L, long.MaxValue), (Start + Day, Start + 2 * Day) })
        {
            var commits = await AllCommitsAsync(lite, from, to);
            Assert.Equal(Json(commits), Json(await AllCommitsAsync(post, from, to)));
            Assert.Equal(commits.Count, commits.Select(c => c.Entry.ReservationId).Distinct().Count());
            Assert.All(commits, c => Assert.InRange(c.Entry.CommittedAtUnixMs, from, to - 1));
        }
        Assert.Equal(250, (await AllCommitsAsync(post, 0, long.MaxValue)).Count);

        foreach (var (prefix, from, to) in new[] { ("", 0L, long.MaxValue), ("team/a", Start + Day, long.MaxValue), ("team/a_", 0L, long.MaxValue),
                     ("team/a%", 0L, Start + Day) })
        {
            var usage = await AllUsageAsync(lite, prefix, from, to);
            Assert.Equal(Json(usage), Json(await AllUsageAsync(post, prefix, from, to)));
            Assert.All(usage, u => Assert.StartsWith(prefix, u.Where.Scope, StringComparison.Ordinal));
            Assert.NotEmpty(usage);
            var meters = await AllUsageAsync(lite, prefix, from, to, meters: true);
            Assert.Equal(Json(meters), Json(await AllUsageAsync(post, prefix, from, to, meters: true)));
            Assert.All(meters, u => Assert.Equal((KeyedUsage.MeterDimension, true), (u.Where.Dimension, u.Where.Scope.StartsWith(prefix, StringComparison.Ordinal))));
            Assert.NotEmpty(meters);
        }
    }

    private static async Task<List<SequencedCommit>> AllCommitsAsync(ILedgerExport store, long from, long to)
    {
        var all = new List<SequencedCommit>();
        while (true)
        {
            var page = await store.ReadCommitsAsync(all.Count == 0 ? 0 : all[^1].Seq, from, to, 7, CancellationToken.None);
            all.AddRange(page);
            if (page.Count < 7) return all;
        }
    }

    private static async Task<List<KeyedUsage>> AllUsageAsync(ILedgerExport store, string prefix, long from, long to, bool meters = false)
    {
        var all = new List<KeyedUsage>();
        while (true)
        {
            var after = all.Count == 0 ? UsageKey.First : all[^1].Where;
            var page = meters
                ? await store.ReadMeterUsageAsync(after, prefix, from, to, 2, CancellationToken.None)
                : await store.ReadUsageAsync(after, prefix, from, to, 2, CancellationToken.None);
            all.AddRange(page);
            if (page.Count < 2) return all;
        }
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);

    /// <summary>jsonb keeps an object's keys in its own order: labels are compared as sets (the export writes them sorted).</summary>
    private static string Json(List<SequencedCommit> commits) => JsonSerializer.Serialize(commits.Select(c => c with
    {
        Entry = c.Entry with { Labels = new SortedDictionary<string, string>(c.Entry.Labels.ToDictionary(), StringComparer.Ordinal) },
    }).ToList());

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
