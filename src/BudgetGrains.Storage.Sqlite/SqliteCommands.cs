using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite;

/// <summary>One statement of a journal batch with positional parameters ($1, $2, ...), for handlers whose records are few
/// (the budget journal prepares its hot statements once instead).</summary>
internal static class SqliteCommands
{
    public static void Run(SqliteConnection connection, SqliteTransaction transaction, string sql, params object[] values)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++) command.Parameters.AddWithValue("$" + (i + 1), values[i]);
        command.ExecuteNonQuery();
    }
}
