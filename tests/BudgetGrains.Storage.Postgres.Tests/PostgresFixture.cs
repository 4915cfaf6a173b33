namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>One PostgreSQL server for the whole test run, started by the first test that needs it; each test takes a
/// database of its own. Without PostgreSQL's binaries the tests skip (fail under CI=true).</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private PostgresServer? _server;

    /// <summary>A new, empty database on the shared server; its connection string.</summary>
    public async Task<string> NewDatabaseAsync()
    {
        PostgresServer.RequireBinaries();
        await _gate.WaitAsync();
        try
        {
            _server ??= await PostgresServer.StartAsync();
        }
        finally
        {
            _gate.Release();
        }
        return await _server.CreateDatabaseAsync();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
