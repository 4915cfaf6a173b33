using Npgsql;

namespace BudgetGrains.Storage.Postgres;

/// <summary>
/// The tables of a component written outside the journal (imported bills, shared costs): brought up to date on first use,
/// once per store, as the journal's handlers own the start-up migrations and these tables are not journal state.
/// </summary>
internal sealed class SideTables(NpgsqlDataSource dataSource, string component, IReadOnlyList<string> migrations)
{
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private bool _schemaReady;

    /// <summary>A connection of the data source, the component's schema up to date.</summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (_schemaReady) return connection;
        await _schemaGate.WaitAsync(cancellationToken);
        try
        {
            if (!_schemaReady) await PostgresSchema.UpgradeAsync(connection, component, migrations, cancellationToken);
            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
        return connection;
    }
}
