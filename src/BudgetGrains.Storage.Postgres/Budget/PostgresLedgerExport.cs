using System.Text.Json;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Budget;

/// <summary>The ledger and usage in keyset pages for exports (<see cref="ILedgerExport"/>): the same rows in the same order
/// as SqliteLedgerExport, one statement per page.</summary>
public sealed class PostgresLedgerExport(NpgsqlDataSource dataSource) : ILedgerExport
{
    public async Task<IReadOnlyList<SequencedCommit>> ReadCommitsAsync(long afterSeq, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT seq, reservation_id, chain, periods, labels::text, estimate_nanos, actual_nanos, model, input_tokens, cached_input_tokens,
                output_tokens, reasoning_tokens, outcome, late, overage, reserved_at_ms, committed_at_ms
            FROM ledger WHERE seq > $1 AND committed_at_ms >= $2 AND committed_at_ms < $3 ORDER BY seq LIMIT $4
            """, afterSeq, fromUnixMs, toUnixMs, limit);
        var rows = new List<SequencedCommit>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var labels = JsonSerializer.Deserialize(reader.GetString(4), PostgresJsonContext.Default.IReadOnlyDictionaryStringString)
                ?? new Dictionary<string, string>();
            var entry = new LedgerEntry(reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetFieldValue<long[]>(3), labels,
                reader.GetInt64(5), reader.GetInt64(6), reader.GetString(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10),
                reader.GetInt64(11), reader.GetString(12), reader.GetBoolean(13), reader.GetBoolean(14), reader.GetInt64(15), reader.GetInt64(16));
            rows.Add(new SequencedCommit(reader.GetInt64(0), entry));
        }
        return rows;
    }

    public async Task<IReadOnlyList<KeyedUsage>> ReadUsageAsync(UsageKey after, string scopePrefix, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT scope, period_start_ms, dimension, key, spent_nanos, commits, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens
            FROM usage
            WHERE (scope, period_start_ms, dimension, key) > ($1::text COLLATE "C", $2, $3::text COLLATE "C", $4::text COLLATE "C")
                AND scope >= $5::text COLLATE "C" AND starts_with(scope, $5) AND period_start_ms >= $6 AND period_start_ms < $7
            ORDER BY scope, period_start_ms, dimension, key LIMIT $8
            """, after.Scope, after.PeriodStartUnixMs, after.Dimension, after.Key, scopePrefix, fromUnixMs, toUnixMs, limit);
        var rows = new List<KeyedUsage>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new KeyedUsage(new UsageKey(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)),
                new UsageRow(reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8),
                    reader.GetInt64(9))));
        return rows;
    }

    public async Task<IReadOnlyList<KeyedUsage>> ReadMeterUsageAsync(UsageKey after, string scopePrefix, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT scope, period_start_ms, meter, spent_nanos, commits, quantity
            FROM scope_meter_usage
            WHERE (scope, period_start_ms, meter) > ($1::text COLLATE "C", $2, $3::text COLLATE "C")
                AND scope >= $4::text COLLATE "C" AND starts_with(scope, $4) AND period_start_ms >= $5 AND period_start_ms < $6
            ORDER BY scope, period_start_ms, meter LIMIT $7
            """, after.Scope, after.PeriodStartUnixMs, after.Key, scopePrefix, fromUnixMs, toUnixMs, limit);
        var rows = new List<KeyedUsage>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new KeyedUsage(new UsageKey(reader.GetString(0), reader.GetInt64(1), KeyedUsage.MeterDimension, reader.GetString(2)),
                new UsageRow(reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), 0, 0, 0, 0), reader.GetInt64(5)));
        return rows;
    }
}
