using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite;

/// <summary>
/// The tables of a component written outside the journal (imported bills, shared costs) in the silo's SQLite file: its
/// schema brought up to date when the store is built, and a writer connection of its own per administrative write, which
/// waits for the journal's batch in progress (up to the busy timeout) instead of going through the journal.
/// </summary>
internal sealed class SideTables
{
    private readonly string _writeConnectionString;

    public SideTables(string databasePath, string component, int schemaVersion, string schema)
    {
        _writeConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = SqliteJournalStore.BusyTimeoutMs / 1000,
        }.ToString();
        using var connection = OpenWriter();
        SchemaVersions.Upgrade(connection, component, schemaVersion, (transaction, _) => SchemaVersions.Execute(connection, schema, transaction));
    }

    public SqliteConnection OpenWriter()
    {
        var connection = new SqliteConnection(_writeConnectionString);
        connection.Open();
        SchemaVersions.Execute(connection, $"PRAGMA busy_timeout={SqliteJournalStore.BusyTimeoutMs}; PRAGMA synchronous=FULL;");
        return connection;
    }

    /// <summary>A statement with positional parameters $1, $2, ...</summary>
    public static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params object[] values)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++) command.Parameters.AddWithValue("$" + (i + 1), values[i]);
        return command;
    }
}
