using BudgetGrains.Grains.Access;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Access;

/// <summary>The key and audit queries (<see cref="IAccessStore"/>) on PostgreSQL: the same results as SqliteAccessStore.</summary>
public sealed class PostgresAccessStore(NpgsqlDataSource dataSource) : IAccessStore
{
    public async Task<IReadOnlyList<StoredApiKey>> ReadKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT id, role, tenant, name, salt, hash, iterations, created_unix_ms, created_by, revoked_unix_ms, revoked_by
            FROM api_keys ORDER BY id
            """);
        var keys = new List<StoredApiKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new StoredApiKey(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                (byte[])reader.GetValue(4), (byte[])reader.GetValue(5), reader.GetInt32(6), reader.GetInt64(7), reader.GetString(8),
                reader.GetInt64(9), reader.GetString(10)));
        }
        return keys;
    }

    public async Task<AuditPage> ListAuditAsync(string targetPrefix, long before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // left() rather than LIKE: a prefix with % or _ means those characters.
        await using var command = Command(connection, """
            SELECT sequence, at_unix_ms, key_id, rpc, target, request_json, before_json, after_json, peer FROM audit_log
            WHERE ($1 = 0 OR sequence < $1) AND left(target, length($2)) = $2
            ORDER BY sequence DESC LIMIT $3
            """, before, targetPrefix, limit + 1);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new AuditEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetString(8)));
        }
        if (entries.Count <= limit) return new AuditPage(entries, 0);
        entries.RemoveAt(entries.Count - 1);
        return new AuditPage(entries, entries[^1].Sequence);
    }
}
