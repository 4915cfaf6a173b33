using System.Text.Json;
using BudgetGrains.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Actors.Tests;

public sealed class PersistenceTests(TempDirectoryFixture temp) : IClassFixture<TempDirectoryFixture>
{
    [Fact]
    public async Task ConcurrentWritersAreGroupCommittedAndEveryAcknowledgedWriteIsInTheFile()
    {
        const int Grains = 200;
        const int WritesPerGrain = 5;
        var storage = new RecordingStorage(new SqliteGrainStorage(temp.NewDatabasePath(), []));
        await using var harness = new RuntimeHarness(storage, new ActorRuntimeOptions { MaxGroupCommitBatch = 64 });

        await Task.WhenAll(Enumerable.Range(0, Grains).Select(async g =>
        {
            var grain = harness.Runtime.GetGrain<ICounterGrain>($"g{g}");
            for (int i = 0; i < WritesPerGrain; i++)
            {
                await grain.AddAndWriteAsync(g);
            }
        }));

        var stats = harness.Runtime.GetStatistics();
        Assert.Equal(Grains * WritesPerGrain, stats.GroupCommitWrites);
        Assert.Equal(storage.Batches, stats.GroupCommitBatches);
        Assert.True(stats.GroupCommitBatches < stats.GroupCommitWrites, $"{stats.GroupCommitBatches} batches for {stats.GroupCommitWrites} writes");
        Assert.InRange(storage.MaxBatch, 2, 64);
        Assert.Equal(0, stats.GroupCommitFailedBatches);

        using var connection = storage.Inner.OpenReadConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT grain_key, data FROM grain_state WHERE grain_type = 'counter'";
        var stored = new Dictionary<string, int>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                stored[reader.GetString(0)] = JsonSerializer.Deserialize<CounterState>((byte[])reader[1])!.Value;
            }
        }
        Assert.Equal(Enumerable.Range(0, Grains).ToDictionary(g => $"g{g}", g => g * WritesPerGrain), stored);
    }

    [Fact]
    public async Task AFailingBatchThrowsStorageUnavailableAndTheGrainKeepsWorking()
    {
        var storage = new FlakyStorage();
        await using var harness = new RuntimeHarness(storage);
        var grain = harness.Runtime.GetGrain<ICounterGrain>("flaky");
        await grain.AddAndWriteAsync(1);

        storage.Failing = true;
        var error = await Assert.ThrowsAsync<StorageUnavailableException>(() => grain.AddAndWriteAsync(10));
        Assert.IsType<IOException>(error.InnerException);
        storage.Failing = false;

        await grain.AddAndWriteAsync(100);
        Assert.Equal(111, await grain.GetAsync());
        var stats = harness.Runtime.GetStatistics();
        Assert.Equal(1, stats.GroupCommitFailedBatches);
        Assert.Equal(3, stats.GroupCommitBatches);

        await grain.DeactivateAsync();
        await RuntimeHarness.EventuallyAsync(() => harness.Runtime.GetStatistics().Activations == 0, "deactivation");
        Assert.Equal(111, await grain.GetAsync());
    }

    [Fact]
    public async Task JournalRecordsReachTheirHandlerInTheSameTransactionAsTheState()
    {
        var ledger = new LedgerHandler();
        string path = temp.NewDatabasePath();
        await using var harness = RuntimeHarness.OnSqlite(path, handlers: ledger);
        var grain = harness.Runtime.GetGrain<ICounterGrain>("j");

        await grain.AddAndWriteWithJournalAsync(7, new LedgerEntry("j", 7));
        await grain.AddAndWriteWithJournalAsync(3, new LedgerEntry("j", 3));

        // Inside Apply, the same transaction already sees this batch's state row.
        Assert.Equal([7, 10], ledger.StateSeenInsideTransaction);
        var storage = (SqliteGrainStorage)harness.Storage;
        using var connection = storage.OpenReadConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT group_concat(amount) FROM ledger ORDER BY rowid";
        Assert.Equal("7,3", command.ExecuteScalar());
    }

    [Fact]
    public async Task ARecordWithoutAHandlerFailsTheWholeBatch()
    {
        string path = temp.NewDatabasePath();
        await using var harness = RuntimeHarness.OnSqlite(path, handlers: new LedgerHandler());
        var grain = harness.Runtime.GetGrain<ICounterGrain>("orphan");
        await grain.AddAndWriteAsync(1);

        var error = await Assert.ThrowsAsync<StorageUnavailableException>(() => grain.AddAndWriteWithJournalAsync(5, new UnknownRecord()));
        Assert.Contains(nameof(UnknownRecord), error.Message);

        // The state upsert of the failed batch was rolled back with it.
        var stored = await harness.Storage.ReadStateAsync(new GrainId("counter", "orphan"), CancellationToken.None);
        Assert.Equal(1, JsonSerializer.Deserialize<CounterState>(stored!)!.Value);
        Assert.Equal(6, await grain.GetAsync());
    }

    [Fact]
    public async Task WritesOfOneGrainAreAppliedInIssueOrder()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        var grains = Enumerable.Range(0, 50).Select(i => harness.Runtime.GetGrain<ICounterGrain>($"o{i}")).ToArray();

        await Task.WhenAll(grains.Select((g, i) => g.WriteTwiceAsync(-1, i)));

        for (int i = 0; i < grains.Length; i++)
        {
            var stored = await harness.Storage.ReadStateAsync(new GrainId("counter", $"o{i}"), CancellationToken.None);
            Assert.Equal(i, JsonSerializer.Deserialize<CounterState>(stored!)!.Value);
        }
    }

    [Fact]
    public async Task StopRunsQueuedCallsThenDeactivatesAndMakesTheirWritesDurable()
    {
        string path = temp.NewDatabasePath();
        await using (var harness = RuntimeHarness.OnSqlite(path))
        {
            var grain = harness.Runtime.GetGrain<ICounterGrain>("s");
            var writes = Enumerable.Range(0, 100).Select(_ => grain.AddAndWriteAsync(1)).ToArray();
            await harness.Runtime.StopAsync(CancellationToken.None);

            Assert.All(writes, w => Assert.True(w.IsCompletedSuccessfully));
            Assert.Equal(1, harness.Log.Deactivations(new GrainId("counter", "s")));
        }
        await using var reopened = new SqliteGrainStorage(path, []);
        var stored = await reopened.ReadStateAsync(new GrainId("counter", "s"), CancellationToken.None);
        Assert.Equal(100, JsonSerializer.Deserialize<CounterState>(stored!)!.Value);
    }

    private sealed class LedgerHandler : ISqliteJournalHandler
    {
        public List<int> StateSeenInsideTransaction { get; } = [];

        public void CreateSchema(SqliteConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE IF NOT EXISTS ledger (grain_key TEXT NOT NULL, amount INTEGER NOT NULL)";
            command.ExecuteNonQuery();
        }

        public bool CanHandle(IJournalRecord record) => record is LedgerEntry;

        public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
        {
            foreach (LedgerEntry entry in records.Cast<LedgerEntry>())
            {
                using var insert = connection.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO ledger (grain_key, amount) VALUES ($key, $amount)";
                insert.Parameters.AddWithValue("$key", entry.GrainKey);
                insert.Parameters.AddWithValue("$amount", entry.Amount);
                insert.ExecuteNonQuery();

                using var state = connection.CreateCommand();
                state.Transaction = transaction;
                state.CommandText = "SELECT data FROM grain_state WHERE grain_type = 'counter' AND grain_key = $key";
                state.Parameters.AddWithValue("$key", entry.GrainKey);
                StateSeenInsideTransaction.Add(JsonSerializer.Deserialize<CounterState>((byte[])state.ExecuteScalar()!)!.Value);
            }
        }
    }
}
