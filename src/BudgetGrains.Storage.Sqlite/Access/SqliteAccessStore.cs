using BudgetGrains.Grains.Access;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Access;

/// <summary>The key and audit queries (<see cref="IAccessStore"/>) on the SQLite file, over read connections.</summary>
public sealed class SqliteAccessStore(Func<SqliteConnection> openReadConnection) : IAccessStore
{
    public async Task<IReadOnlyList<StoredApiKey>> ReadKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AccessRows.KeyColumns} FROM api_keys ORDER BY id";
        var keys = new List<StoredApiKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(AccessRows.Key(reader));
        }
        return keys;
    }

    public async Task<AuditPage> ListAuditAsync(string targetPrefix, long before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = connection.CreateCommand();
        // substr rather than LIKE: a prefix with % or _ means those characters.
        command.CommandText = $"""
            SELECT {AccessRows.AuditColumns} FROM audit_log
            WHERE ($before = 0 OR sequence < $before) AND substr(target, 1, length($prefix)) = $prefix
            ORDER BY sequence DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$before", before);
        command.Parameters.AddWithValue("$prefix", targetPrefix);
        command.Parameters.AddWithValue("$limit", limit + 1);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(AccessRows.Audit(reader));
        }
        return AccessRows.Page(entries, limit);
    }
}
