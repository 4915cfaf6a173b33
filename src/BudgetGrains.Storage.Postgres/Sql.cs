using Npgsql;
using NpgsqlTypes;

namespace BudgetGrains.Storage.Postgres;

/// <summary>Builds commands with positional parameters ($1, $2, ...), the form every statement of this backend uses.</summary>
internal static class Sql
{
    /// <summary>A statement of a batch; each value's type is inferred from its CLR type.</summary>
    public static NpgsqlBatchCommand BatchCommand(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values) command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        return command;
    }

    /// <summary>A query on its own connection.</summary>
    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object[] values)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values) command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        return command;
    }

    /// <summary>A JSON document parameter (stored as jsonb).</summary>
    public static NpgsqlParameter Jsonb(string json) => new() { Value = json, NpgsqlDbType = NpgsqlDbType.Jsonb };

    /// <summary>An array parameter for unnest(): a whole column of a set-based insert in one parameter.</summary>
    public static NpgsqlParameter Array<T>(IEnumerable<T> values, NpgsqlDbType element) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | element };
}
