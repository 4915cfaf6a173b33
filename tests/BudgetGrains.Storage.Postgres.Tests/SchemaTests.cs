using BudgetGrains.Storage.Postgres.Budget;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Journal;
using Npgsql;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>The schema is the project's own migrations: created on a fresh database, kept on re-open, upgraded one
/// version at a time, and a database newer than the code is refused.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SchemaTests(PostgresFixture postgres)
{
    [SkippableFact]
    public async Task AFreshDatabaseGetsEveryComponentAtItsVersionAndReopeningKeepsData()
    {
        var database = await postgres.NewDatabaseAsync();
        var key = new StateKey(GrainTypes.Scope, "team/kept");
        await using (var store = await PostgresJournalServices.OpenAsync(database))
        {
            await store.WriteBatchAsync([new JournalWrite(key, [42], [])], CancellationToken.None);
        }
        var expected = new Dictionary<string, int> { ["journal"] = PostgresJournalStore.Migrations.Count };
        foreach (var handler in PostgresJournalServices.Handlers()) expected[handler.Component] = handler.Migrations.Count;
        Assert.Equal(expected, await VersionsAsync(database));

        await using (var reopened = await PostgresJournalServices.OpenAsync(database))
        {
            Assert.Equal([42], await reopened.ReadStateAsync(key, CancellationToken.None));
        }
        Assert.Equal(expected, await VersionsAsync(database));
    }

    [SkippableFact]
    public async Task ANewerSchemaIsRefusedNamingTheComponent()
    {
        var database = await postgres.NewDatabaseAsync();
        await (await PostgresJournalServices.OpenAsync(database)).DisposeAsync();
        await ExecuteAsync(database, "UPDATE schema_versions SET version = version + 1 WHERE component = 'budget'");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresJournalServices.OpenAsync(database));
        var current = new PostgresBudgetJournal().Migrations.Count;
        Assert.Contains($"budget schema version {current + 1}, newer than this silo's {current}", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task AnOlderSchemaRunsOnlyTheMigrationsItLacks()
    {
        var database = await postgres.NewDatabaseAsync();
        var v1 = new TestHandler(["CREATE TABLE widgets(id integer PRIMARY KEY)"]);
        await (await PostgresJournalStore.OpenAsync(database, [v1])).DisposeAsync();
        await ExecuteAsync(database, "INSERT INTO widgets VALUES (1)");

        // Version 2 adds a column; the table (and its row) of version 1 stay: re-running migration 1 would fail.
        var v2 = new TestHandler([v1.Migrations[0], "ALTER TABLE widgets ADD COLUMN name text NOT NULL DEFAULT 'w'"]);
        await (await PostgresJournalStore.OpenAsync(database, [v2])).DisposeAsync();
        Assert.Equal(2, (await VersionsAsync(database))["test"]);
        Assert.Equal("w", await ScalarAsync(database, "SELECT name FROM widgets WHERE id = 1"));
    }

    /// <summary>Four silos starting at once on a fresh database: the migrations run once (the others wait for them and
    /// find the schema current), and exactly one takes the journal's writer lock; the others are refused naming it.</summary>
    [SkippableFact]
    public async Task SilosStartingTogetherMigrateOnceAndOnlyOneWrites()
    {
        var database = await postgres.NewDatabaseAsync();
        var opening = Enumerable.Range(0, 4).Select(_ => PostgresJournalServices.OpenAsync(database)).ToList();
        await Task.WhenAll(opening.Select(o => o.ContinueWith(_ => { }, TaskScheduler.Default)));
        var opened = opening.Where(o => o.IsCompletedSuccessfully).Select(o => o.Result).ToList();
        Assert.Single(opened);
        foreach (var refused in opening.Where(o => o.IsFaulted))
            Assert.Contains("holds its writer lock", Assert.IsType<InvalidOperationException>(refused.Exception!.InnerException).Message, StringComparison.Ordinal);
        Assert.Equal(new PostgresBudgetJournal().Migrations.Count, (await VersionsAsync(database))["budget"]);

        // The lock is the writer's session: once the first silo's store closes, another can open.
        await opened[0].DisposeAsync();
        await (await PostgresJournalServices.OpenAsync(database)).DisposeAsync();
    }

    [SkippableFact]
    public async Task AnUnreachableOrMalformedDatabaseIsAClearError()
    {
        await postgres.NewDatabaseAsync();
        var malformed = Assert.Throws<ArgumentException>(() => PostgresJournalStore.ParseConnectionString("Host=127.0.0.1;Bogus Key=1"));
        Assert.Contains("not valid", malformed.Message, StringComparison.Ordinal);
        var unreachable = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PostgresJournalServices.OpenAsync("Host=127.0.0.1;Port=1;Database=none;Username=postgres;Timeout=2"));
        Assert.Contains("127.0.0.1:1 database 'none' could not be opened", unreachable.Message, StringComparison.Ordinal);
    }

    private sealed class TestHandler(IReadOnlyList<string> migrations) : IPostgresJournalHandler
    {
        public string Component => "test";
        public IReadOnlyList<string> Migrations => migrations;
        public bool CanHandle(IJournalRecord record) => false;
        public void Append(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records) => throw new InvalidOperationException("no records");
    }

    private static async Task<Dictionary<string, int>> VersionsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT component, version FROM schema_versions", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var versions = new Dictionary<string, int>();
        while (await reader.ReadAsync()) versions[reader.GetString(0)] = reader.GetInt32(1);
        return versions;
    }

    internal static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    internal static async Task<object?> ScalarAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
