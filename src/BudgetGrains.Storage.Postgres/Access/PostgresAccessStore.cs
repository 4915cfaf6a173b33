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
        await using var command = Command(connection, $"SELECT {AccessRows.KeyColumns} FROM api_keys ORDER BY id");
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
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // left() rather than LIKE: a prefix with % or _ means those characters.
        await using var command = Command(connection, $"""
            SELECT {AccessRows.AuditColumns} FROM audit_log
            WHERE ($1 = 0 OR sequence < $1) AND left(target, length($2)) = $2
            ORDER BY sequence DESC LIMIT $3
            """, before, targetPrefix, limit + 1);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(AccessRows.Audit(reader));
        }
        return AccessRows.Page(entries, limit);
    }
}
