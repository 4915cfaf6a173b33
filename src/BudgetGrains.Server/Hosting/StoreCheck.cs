using Microsoft.Data.Sqlite;

namespace BudgetGrains.Server.Hosting;

/// <summary>
/// Refuses a store the silo could read but not write, at start-up rather than at the first admission: SQLite opens a
/// file it may not write read-only without saying so, and a silo on it would print "ready" and then fail every write.
/// Called once the data directory is locked (<see cref="DataDirectoryLock"/>), so nothing else writes meanwhile.
/// </summary>
internal static class StoreCheck
{
    private const int SqliteReadOnly = 8;

    public static void EnsureWritable(string databasePath)
    {
        // A new store: the lock file just written shows that the directory is writable.
        if (!File.Exists(databasePath))
        {
            if (Directory.Exists(databasePath)) throw new InvalidOperationException($"database {databasePath} is a directory, not a file");
            return;
        }
        var connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString();
        try
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            if (SQLitePCL.raw.sqlite3_db_readonly(connection.Handle, "main") == 1) throw ReadOnly(databasePath);
            // A write transaction, begun and rolled back: takes the write lock, as the first admission would, writes nothing.
            using var command = connection.CreateCommand();
            command.CommandText = "BEGIN IMMEDIATE; ROLLBACK;";
            command.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteReadOnly)
        {
            throw ReadOnly(databasePath);
        }
        catch (SqliteException e)
        {
            throw new InvalidOperationException($"cannot open database {databasePath}: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    private static InvalidOperationException ReadOnly(string databasePath) =>
        new($"database {databasePath} is read-only (file permissions, an immutable attribute or a read-only mount); " +
            "the silo must write every admission: make it writable or choose another --data-dir");
}
