using System.Text.Json;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Postgres.Reconciliation;
using BudgetGrains.Storage.Sqlite;
using BudgetGrains.Storage.Sqlite.Reconciliation;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>The reconciliation's store (IBillStore) answers on PostgreSQL as on SQLite: imports replaced by id and summed
/// across imports and kinds per provider, model and day, the ledger summed by provider label, model and UTC day.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BillStoreParityTests(PostgresFixture postgres) : IDisposable
{
    private const long Day = 86_400_000;
    private const long Start = 1_793_577_600_000;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "budgetgrains-bill-parity-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task BillsAndLedgerSumsAnswerAsOnSqlite()
    {
        var connectionString = await postgres.NewDatabaseAsync();
        Directory.CreateDirectory(_directory);
        await using var sqlite = SqliteJournalServices.Open(Path.Combine(_directory, "budgetgrains.db"));
        await using var pg = await PostgresJournalServices.OpenAsync(connectionString);
        var ledger = Enumerable.Range(0, 40).Select(n => (IJournalRecord)new LedgerEntry($"r-{n}", ["tenant/t"], [0],
            new Dictionary<string, string> { ["provider"] = n % 3 == 0 ? "OpenAI" : "anthropic", ["model"] = "label-model" }, 1, 1_000 + n,
            n % 2 == 0 ? "gpt-4o" : "", 0, 0, 0, 0, "", false, false, Start + n * 7_200_000 - 1, Start + n * 7_200_000)).ToList();
        var write = new[] { new JournalWrite(new StateKey("test", "bills"), null, ledger) };
        await sqlite.WriteBatchAsync(write, CancellationToken.None);
        await pg.WriteBatchAsync(write, CancellationToken.None);
        IBillStore lite = new SqliteBillStore(sqlite.DatabasePath, sqlite.OpenReadConnection), post = new PostgresBillStore(pg.ReadSource);
        BillImport Import(string id, long nanos) => new(id, "focus", 1, "USD",
            [new("openai", "gpt-4o", "input", Start, nanos), new("openai", "gpt-4o", "output", Start, 2 * nanos), new("anthropic", "claude", "", Start + Day, nanos)]);

        foreach (var store in new[] { lite, post })
        {
            Assert.False(await store.ReplaceAsync(Import("a", 100), CancellationToken.None));
            Assert.False(await store.ReplaceAsync(Import("b", 10), CancellationToken.None));
            Assert.True(await store.ReplaceAsync(Import("a", 1_000), CancellationToken.None));
        }

        var billed = await lite.ReadBilledAsync(Start, Start + 2 * Day, 100, CancellationToken.None);
        Assert.Equal(JsonSerializer.Serialize(billed), JsonSerializer.Serialize(await post.ReadBilledAsync(Start, Start + 2 * Day, 100, CancellationToken.None)));
        Assert.Equal(3_030, billed.Single(b => b.Provider == "openai").BilledNanos);
        var counted = await lite.ReadCountedAsync(Start, Start + 2 * Day, 100, CancellationToken.None);
        Assert.Equal(JsonSerializer.Serialize(counted), JsonSerializer.Serialize(await post.ReadCountedAsync(Start, Start + 2 * Day, 100, CancellationToken.None)));
        Assert.Equal(ledger.Cast<LedgerEntry>().Count(e => e.CommittedAtUnixMs < Start + 2 * Day), counted.Sum(c => c.Commits));
        Assert.Contains(counted, c => c.Model == "label-model");
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
