using BudgetGrains.Grains;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Budget;

/// <summary>The budget queries (<see cref="IBudgetStore"/>) on the SQLite file, over read connections.</summary>
public sealed class SqliteBudgetStore(Func<SqliteConnection> openReadConnection) : IBudgetStore
{
    public async Task<ScopeCounters> ReadCountersAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection, $"""
            SELECT {CounterColumns} FROM (SELECT $1 AS scope) s
            LEFT JOIN scope_holds h ON h.scope = s.scope
            LEFT JOIN scope_periods p ON p.scope = s.scope AND p.period_start_ms = $2
            """, scope, periodStartUnixMs);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadCounters(reader, 0) : ScopeCounters.Zero;
    }

    public async Task<IReadOnlyList<PeriodSummary>> ListClosedPeriodsAsync(string scope, long beforeStartUnixMs, int limit, CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection, """
            SELECT h.period, h.period_start_ms, h.period_end_ms, h.limit_nanos, IFNULL(p.spent_nanos, 0), IFNULL(p.commits, 0),
                IFNULL(p.denials, 0), h.reset, h.currency
            FROM period_history h LEFT JOIN scope_periods p ON p.scope = h.scope AND p.period_start_ms = h.period_start_ms
            WHERE h.scope = $1 AND h.period_start_ms < $2 ORDER BY h.period_start_ms DESC LIMIT $3
            """, scope, beforeStartUnixMs, limit);
        var periods = new List<PeriodSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            periods.Add(new PeriodSummary(scope, (BudgetPeriod)reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt32(7) != 0, reader.GetString(8)));
        return periods;
    }

    public async Task<UsageRow> ReadPeriodTotalsAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection, $"""
            SELECT '', {UsageColumns} FROM scope_periods WHERE scope = $1 AND period_start_ms = $2
            """, scope, periodStartUnixMs);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadUsage(reader) : UsageRow.Empty;
    }

    public async Task<IReadOnlyList<UsageRow>> ReadUsageAsync(string scope, long periodStartUnixMs, string dimension, int offset, int limit,
        CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        // Calls without a value for the grouping have no row: their "" row is the period's total minus the grouping's rows.
        // (Not for children: a call through two children of the scope is in both rows.)
        await using var command = Command(connection, $"""
            SELECT key, {UsageColumns} FROM usage WHERE scope = $1 AND period_start_ms = $2 AND dimension = $3
            UNION ALL
            SELECT '', p.spent_nanos - IFNULL(SUM(u.spent_nanos), 0), p.commits - IFNULL(SUM(u.commits), 0),
                p.input_tokens - IFNULL(SUM(u.input_tokens), 0), p.cached_input_tokens - IFNULL(SUM(u.cached_input_tokens), 0),
                p.output_tokens - IFNULL(SUM(u.output_tokens), 0), p.reasoning_tokens - IFNULL(SUM(u.reasoning_tokens), 0)
            FROM scope_periods p LEFT JOIN usage u ON u.scope = p.scope AND u.period_start_ms = p.period_start_ms AND u.dimension = $3
            WHERE p.scope = $1 AND p.period_start_ms = $2 AND $3 <> '{UsageDimensions.Child}'
            GROUP BY p.scope HAVING p.commits - IFNULL(SUM(u.commits), 0) > 0
            ORDER BY 2 DESC, 1 LIMIT $4 OFFSET $5
            """, scope, periodStartUnixMs, dimension, limit, offset);
        var rows = new List<UsageRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add(ReadUsage(reader));
        return rows;
    }

    public async Task<IReadOnlyDictionary<(string Scope, long PeriodStartUnixMs), long>> SpentByPeriodAsync(CancellationToken cancellationToken) =>
        await SumsAsync("SELECT scope, period_start_ms, spent_nanos FROM scope_periods", cancellationToken);

    public async Task<IReadOnlyDictionary<(string Scope, long PeriodStartUnixMs), long>> SumLedgerByPeriodAsync(CancellationToken cancellationToken) =>
        await SumsAsync("""
            SELECT scope.value, period.value, SUM(ledger.actual_nanos)
            FROM ledger, json_each(ledger.chain) AS scope, json_each(ledger.periods) AS period
            WHERE scope.key = period.key GROUP BY scope.value, period.value
            """, cancellationToken);

    private async Task<IReadOnlyDictionary<(string, long), long>> SumsAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection, sql);
        var sums = new Dictionary<(string, long), long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) sums[(reader.GetString(0), reader.GetInt64(1))] = reader.GetInt64(2);
        return sums;
    }

    public async Task<IReadOnlyList<string>> ListBudgetScopesAsync(string prefix, string after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        // grain_key > after AND grain_key >= prefix, then stop at the first key without the prefix.
        await using var command = Command(connection, """
            SELECT grain_key FROM grain_state WHERE grain_type = $1 AND grain_key > $2 AND grain_key >= $3
            ORDER BY grain_key LIMIT $4
            """, GrainTypes.Scope, after, prefix, limit);
        var scopes = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var scope = reader.GetString(0);
            if (!scope.StartsWith(prefix, StringComparison.Ordinal)) break;
            scopes.Add(scope);
        }
        return scopes;
    }

    public async Task<IReadOnlyList<OpenHold>> ListOpenHoldsAsync(OpenHold after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection,
            "SELECT expires_at_ms, reservation_id, state FROM open_holds WHERE (expires_at_ms, reservation_id) > ($1, $2) "
            + "ORDER BY expires_at_ms, reservation_id LIMIT $3", after.ExpiresAtUnixMs, after.ReservationId, limit);
        var holds = new List<OpenHold>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            holds.Add(new OpenHold(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : (byte[])reader.GetValue(2)));
        return holds;
    }

    public async Task<IReadOnlyDictionary<string, ScopeCounters>> ReadAllCountersAsync(CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection, $"""
            SELECT s.scope, {CounterColumns} FROM (SELECT scope FROM scope_holds UNION SELECT scope FROM scope_periods) s
            LEFT JOIN scope_holds h ON h.scope = s.scope
            LEFT JOIN (SELECT scope, SUM(spent_nanos) AS spent_nanos, SUM(commits) AS commits, SUM(denials) AS denials,
                SUM(calls) AS calls, SUM(retries) AS retries, MAX(depth_max_seen) AS depth_max_seen FROM scope_periods GROUP BY scope) p
                ON p.scope = s.scope
            """);
        var counters = new Dictionary<string, ScopeCounters>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) counters[reader.GetString(0)] = ReadCounters(reader, 1);
        return counters;
    }

    public async Task<IReadOnlyDictionary<string, long>> SumLedgerByScopeAsync(CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection,
            "SELECT scope.value, SUM(ledger.actual_nanos) FROM ledger, json_each(ledger.chain) AS scope GROUP BY scope.value");
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) sums[reader.GetString(0)] = reader.GetInt64(1);
        return sums;
    }

    private const string CounterColumns = """
        IFNULL(p.spent_nanos, 0), IFNULL(h.held_nanos, 0), IFNULL(h.open_holds, 0), IFNULL(p.commits, 0), IFNULL(p.denials, 0),
        IFNULL(p.calls, 0), IFNULL(p.retries, 0), IFNULL(p.depth_max_seen, 0)
        """;

    private const string UsageColumns = "spent_nanos, commits, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens";

    private static UsageRow ReadUsage(SqliteDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6));

    private static ScopeCounters ReadCounters(SqliteDataReader r, int first) =>
        new(r.GetInt64(first), r.GetInt64(first + 1), r.GetInt32(first + 2), r.GetInt64(first + 3), r.GetInt64(first + 4),
            r.GetInt64(first + 5), r.GetInt64(first + 6), r.GetInt32(first + 7));

    internal static SqliteCommand Command(SqliteConnection connection, string sql, params object[] values)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++) command.Parameters.AddWithValue("$" + (i + 1), values[i]);
        return command;
    }
}
