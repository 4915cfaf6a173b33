using BudgetGrains.Grains;
using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Budget;

/// <summary>The budget queries (<see cref="IBudgetStore"/>) on the SQLite file, over read connections.</summary>
public sealed class SqliteBudgetStore(Func<SqliteConnection> openReadConnection) : IBudgetStore
{
    public async Task<ScopeCounters> ReadCountersAsync(string scope, CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection,
            $"SELECT {CounterColumns} FROM scope_counters WHERE scope = $1", scope);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadCounters(reader, 0) : ScopeCounters.Zero;
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
            "SELECT expires_at_ms, reservation_id FROM open_holds WHERE (expires_at_ms, reservation_id) > ($1, $2) "
            + "ORDER BY expires_at_ms, reservation_id LIMIT $3", after.ExpiresAtUnixMs, after.ReservationId, limit);
        var holds = new List<OpenHold>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) holds.Add(new OpenHold(reader.GetInt64(0), reader.GetString(1)));
        return holds;
    }

    public async Task<IReadOnlyDictionary<string, ScopeCounters>> ReadAllCountersAsync(CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        await using var command = Command(connection,
            $"SELECT scope, {CounterColumns} FROM scope_counters");
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

    private const string CounterColumns = "spent_nanos, held_nanos, open_holds, commits, denials, calls, retries, depth_max_seen";

    private static ScopeCounters ReadCounters(SqliteDataReader r, int first) =>
        new(r.GetInt64(first), r.GetInt64(first + 1), r.GetInt32(first + 2), r.GetInt64(first + 3), r.GetInt64(first + 4),
            r.GetInt64(first + 5), r.GetInt64(first + 6), r.GetInt32(first + 7));

    private static SqliteCommand Command(SqliteConnection connection, string sql, params object[] values)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++) command.Parameters.AddWithValue("$" + (i + 1), values[i]);
        return command;
    }
}
