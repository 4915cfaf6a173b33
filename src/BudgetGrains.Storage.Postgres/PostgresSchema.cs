using Npgsql;

namespace BudgetGrains.Storage.Postgres;

/// <summary>
/// The schema version of each component that owns tables in the database (the journal's state table, the budget
/// journal, alerts, prices), so each migrates its own tables when a newer silo opens an older database. Several silos
/// may start at once against one database: an advisory lock makes them migrate one after the other.
/// </summary>
public static class PostgresSchema
{
    /// <summary>The key of the advisory lock held while migrating ("BGSCHEMA" as ASCII, so that it is recognizable in pg_locks).</summary>
    public const long MigrationLockKey = 0x4247_5343_4845_4D41;

    /// <summary>
    /// Brings a component's tables to the version its <paramref name="migrations"/> describe: runs the ones the database
    /// lacks and records the new version, in one transaction. A database with a newer version than this code knows is refused.
    /// </summary>
    public static async Task UpgradeAsync(NpgsqlConnection connection, string component, IReadOnlyList<string> migrations,
        CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(" + MigrationLockKey + ")", cancellationToken);
        await ExecuteAsync(connection,
            "CREATE TABLE IF NOT EXISTS schema_versions(component text COLLATE \"C\" PRIMARY KEY, version integer NOT NULL)", cancellationToken);
        var found = await GetAsync(connection, component, cancellationToken);
        if (found > migrations.Count)
            throw new InvalidOperationException(
                $"The PostgreSQL database has {component} schema version {found}, newer than this silo's {migrations.Count}: upgrade the silo.");
        if (found == migrations.Count) return; // disposing the transaction rolls back nothing but the lock
        for (var version = found; version < migrations.Count; version++)
            await ExecuteAsync(connection, migrations[version], cancellationToken);
        await using (var set = new NpgsqlCommand(
            "INSERT INTO schema_versions(component, version) VALUES($1, $2) ON CONFLICT(component) DO UPDATE SET version = excluded.version",
            connection))
        {
            set.Parameters.Add(new NpgsqlParameter { Value = component });
            set.Parameters.Add(new NpgsqlParameter { Value = migrations.Count });
            await set.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The component's version; 0 when it never recorded one (or the table does not exist yet).</summary>
    public static async Task<int> GetAsync(NpgsqlConnection connection, string component, CancellationToken cancellationToken)
    {
        await using var exists = new NpgsqlCommand("SELECT to_regclass('schema_versions') IS NOT NULL", connection);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not true) return 0;
        await using var command = new NpgsqlCommand("SELECT version FROM schema_versions WHERE component = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = component });
        return await command.ExecuteScalarAsync(cancellationToken) is int version ? version : 0;
    }

    internal static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
