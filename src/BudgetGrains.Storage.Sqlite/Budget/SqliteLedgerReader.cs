using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Budget;

/// <summary>The ledger's recent commits for reports, over a read connection: one range scan on the ledger's primary
/// key (seq), never more than maxRows rows.</summary>
public sealed class SqliteLedgerReader(Func<SqliteConnection> openReadConnection) : ILedgerReader
{
    public async Task<IReadOnlyList<LedgerRow>> ReadRecentAsync(long sinceUnixMs, int maxRows, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRows);
        await using var connection = openReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT l.committed_at_ms, l.actual_nanos,
                CASE WHEN l.model <> '' THEN l.model ELSE IFNULL(json_extract(l.labels, '$.model'), '') END,
                l.outcome, l.input_tokens, l.cached_input_tokens, l.output_tokens,
                COALESCE((SELECT c.value FROM json_each(l.chain) c WHERE c.value LIKE 'feature/%' LIMIT 1),
                    (SELECT c.value FROM json_each(l.chain) c WHERE c.value LIKE 'agent/%' LIMIT 1), ''),
                IFNULL((SELECT c.value FROM json_each(l.chain) c WHERE c.value LIKE 'tenant/%' LIMIT 1), '')
            FROM ledger l
            WHERE l.seq > (SELECT IFNULL(MAX(seq), 0) FROM ledger) - $max AND l.committed_at_ms >= $since
            ORDER BY l.seq
            """;
        command.Parameters.AddWithValue("$max", maxRows);
        command.Parameters.AddWithValue("$since", sinceUnixMs);
        var rows = new List<LedgerRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new LedgerRow(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetString(7), reader.GetString(8)));
        return rows;
    }
}
