using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite;

/// <summary>
/// The schema version of each component that owns tables in the file (the budget journal, alerts, prices...), so
/// each migrates its own tables independently when a newer silo opens an older data directory.
/// </summary>
public static class SchemaVersions
{
    /// <summary>
    /// Brings a component's tables to <paramref name="version"/>: when the file has an older one, runs
    /// <paramref name="upgrade"/>(transaction, version found) and records the new version, in one transaction. A file with a
    /// newer version than this silo knows is refused.
    /// </summary>
    public static void Upgrade(SqliteConnection connection, string component, int version, Action<SqliteTransaction, int> upgrade)
    {
        var found = Get(connection, component);
        if (found == version) return;
        if (found > version)
            throw new InvalidOperationException($"The data directory has {component} schema version {found}, newer than this silo's {version}: upgrade the silo.");
        using var transaction = connection.BeginTransaction();
        upgrade(transaction, found);
        Set(connection, transaction, component, version);
        transaction.Commit();
    }

    /// <summary>The component's version; 0 when it never recorded one.</summary>
    public static int Get(SqliteConnection connection, string component)
    {
        Execute(connection, "CREATE TABLE IF NOT EXISTS schema_versions(component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID");
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version FROM schema_versions WHERE component = $c";
        command.Parameters.AddWithValue("$c", component);
        return command.ExecuteScalar() is long version ? (int)version : 0;
    }

    private static void Set(SqliteConnection connection, SqliteTransaction transaction, string component, int version)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO schema_versions(component, version) VALUES($c, $v) ON CONFLICT(component) DO UPDATE SET version = excluded.version";
        command.Parameters.AddWithValue("$c", component);
        command.Parameters.AddWithValue("$v", version);
        command.ExecuteNonQuery();
    }

    /// <summary>True when the file has a table of that name (tells an old, unversioned file from a new one).</summary>
    public static bool TableExists(SqliteConnection connection, SqliteTransaction transaction, string table)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $t";
        command.Parameters.AddWithValue("$t", table);
        return command.ExecuteScalar() is not null;
    }

    /// <summary>True when <paramref name="table"/> has a column of that name.</summary>
    public static bool ColumnExists(SqliteConnection connection, SqliteTransaction transaction, string table, string column)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT 1 FROM pragma_table_info($t) WHERE name = $c";
        command.Parameters.AddWithValue("$t", table);
        command.Parameters.AddWithValue("$c", column);
        return command.ExecuteScalar() is not null;
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
