using System.Text.Json;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Budget;

/// <summary>The ledger and usage in keyset pages for exports (<see cref="ILedgerExport"/>), each page one statement on a
/// pooled read connection: no read transaction stays open between pages, so a long export never holds the WAL back.</summary>
public sealed class SqliteLedgerExport(Func<SqliteConnection> openReadConnection) : ILedgerExport
{
    public async Task<IReadOnlyList<SequencedCommit>> ReadCommitsAsync(long afterSeq, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = openReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT seq, reservation_id, chain, periods, labels, estimate_nanos, actual_nanos, model, input_tokens, cached_input_tokens,
                output_tokens, reasoning_tokens, outcome, late, overage, reserved_at_ms, committed_at_ms
            FROM ledger WHERE seq > $after AND committed_at_ms >= $from AND committed_at_ms < $to ORDER BY seq LIMIT $limit
            """;
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$from", fromUnixMs);
        command.Parameters.AddWithValue("$to", toUnixMs);
        command.Parameters.AddWithValue("$limit", limit);
        var rows = new List<SequencedCommit>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var entry = new LedgerEntry(reader.GetString(1),
                JsonSerializer.Deserialize(reader.GetString(2), LedgerJsonContext.Default.IReadOnlyListString) ?? [],
                JsonSerializer.Deserialize(reader.GetString(3), LedgerJsonContext.Default.IReadOnlyListInt64) ?? [],
                JsonSerializer.Deserialize(reader.GetString(4), LedgerJsonContext.Default.IReadOnlyDictionaryStringString)
                    ?? new Dictionary<string, string>(),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetString(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10),
                reader.GetInt64(11), reader.GetString(12), reader.GetInt64(13) != 0, reader.GetInt64(14) != 0, reader.GetInt64(15), reader.GetInt64(16));
            rows.Add(new SequencedCommit(reader.GetInt64(0), entry));
        }
        return rows;
    }

    // The prefix starts the range (scope >= prefix); rows past the prefix end it. substr compares characters, so "_" and
    // "%" in a prefix mean themselves.
    private const string ScopeRange = """
        scope >= $prefix AND substr(scope, 1, length($prefix)) = $prefix AND period_start_ms >= $from AND period_start_ms < $to
        """;

    public Task<IReadOnlyList<KeyedUsage>> ReadUsageAsync(UsageKey after, string scopePrefix, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken) =>
        ReadUsagePageAsync($"""
            SELECT scope, period_start_ms, dimension, key, spent_nanos, commits, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens
            FROM usage
            WHERE (scope, period_start_ms, dimension, key) > ($scope, $period, $dimension, $key) AND {ScopeRange}
            ORDER BY scope, period_start_ms, dimension, key LIMIT $limit
            """, after, scopePrefix, fromUnixMs, toUnixMs, limit, reader =>
            new KeyedUsage(new UsageKey(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)),
                new UsageRow(reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8),
                    reader.GetInt64(9))), cancellationToken);

    /// <remarks>Keyed (scope, period, meter): the key of <paramref name="after"/> is the meter.</remarks>
    public Task<IReadOnlyList<KeyedUsage>> ReadMeterUsageAsync(UsageKey after, string scopePrefix, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken) =>
        ReadUsagePageAsync($"""
            SELECT scope, period_start_ms, meter, spent_nanos, commits, quantity
            FROM scope_meter_usage
            WHERE (scope, period_start_ms, meter) > ($scope, $period, $key) AND {ScopeRange}
            ORDER BY scope, period_start_ms, meter LIMIT $limit
            """, after, scopePrefix, fromUnixMs, toUnixMs, limit, reader =>
            new KeyedUsage(new UsageKey(reader.GetString(0), reader.GetInt64(1), KeyedUsage.MeterDimension, reader.GetString(2)),
                new UsageRow(reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), 0, 0, 0, 0), reader.GetInt64(5)), cancellationToken);

    /// <summary>One keyset page of a usage table: the rows after <paramref name="after"/> in the scope range, at most <paramref name="limit"/>.</summary>
    private async Task<IReadOnlyList<KeyedUsage>> ReadUsagePageAsync(string sql, UsageKey after, string scopePrefix, long fromUnixMs, long toUnixMs,
        int limit, Func<SqliteDataReader, KeyedUsage> read, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = openReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$scope", after.Scope);
        command.Parameters.AddWithValue("$period", after.PeriodStartUnixMs);
        command.Parameters.AddWithValue("$dimension", after.Dimension);
        command.Parameters.AddWithValue("$key", after.Key);
        command.Parameters.AddWithValue("$prefix", scopePrefix);
        command.Parameters.AddWithValue("$from", fromUnixMs);
        command.Parameters.AddWithValue("$to", toUnixMs);
        command.Parameters.AddWithValue("$limit", limit);
        var rows = new List<KeyedUsage>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add(read(reader));
        return rows;
    }
}
