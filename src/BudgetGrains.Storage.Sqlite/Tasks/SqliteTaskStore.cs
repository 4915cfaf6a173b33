using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Tasks;

/// <summary>The task table's reads over a read connection: the tasks of a time range (index on the start) joined with
/// their scopes' counters of every period.</summary>
public sealed class SqliteTaskStore(Func<SqliteConnection> openReadConnection) : ITaskStore
{
    public async Task<IReadOnlyList<TaskCostRow>> ReadCostPerOutcomeAsync(TaskCostQuery query, int limit, CancellationToken cancellationToken)
    {
        var key = query.GroupBy switch { "feature" => "t.feature", "tenant" => "t.tenant", _ => "''" };
        await using var connection = openReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {key} AS k, CASE WHEN t.ended_at_ms = 0 THEN 'open' ELSE t.outcome END AS o, COUNT(DISTINCT t.scope),
                IFNULL(SUM(p.spent_nanos), 0), IFNULL(SUM(p.commits), 0), IFNULL(SUM(p.calls), 0), IFNULL(SUM(p.retries), 0),
                IFNULL(SUM(p.input_tokens + p.cached_input_tokens + p.output_tokens + p.reasoning_tokens), 0)
            FROM tasks t LEFT JOIN scope_periods p ON p.scope = t.scope
            WHERE t.started_at_ms >= $from AND t.started_at_ms < $to AND ($tenant = '' OR t.tenant = $tenant) AND ($kind = '' OR t.kind = $kind)
            GROUP BY k, o ORDER BY k, o LIMIT $limit
            """;
        command.Parameters.AddWithValue("$from", query.FromUnixMs);
        command.Parameters.AddWithValue("$to", query.ToUnixMs);
        command.Parameters.AddWithValue("$tenant", query.Tenant);
        command.Parameters.AddWithValue("$kind", query.Kind);
        command.Parameters.AddWithValue("$limit", limit);
        var rows = new List<TaskCostRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(TaskRows.Cost(reader));
        return rows;
    }

    public async Task<IReadOnlyList<JobRow>> ReadJobsAsync(long fromUnixMs, long toUnixMs, string tenant, string afterScope, int limit,
        CancellationToken cancellationToken, string scope = "")
    {
        await using var connection = openReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT t.scope, t.tenant, t.feature, t.agent, t.estimate_nanos, t.cap_nanos, t.started_at_ms, t.ended_at_ms,
                CASE WHEN t.ended_at_ms = 0 THEN 'open' ELSE t.outcome END, IFNULL(SUM(p.commits), 0), t.committed_estimate_nanos,
                IFNULL(SUM(p.spent_nanos), 0), IFNULL((SELECT h.held_nanos FROM scope_holds h WHERE h.scope = t.scope), 0),
                IFNULL(SUM(p.denials), 0)
            FROM tasks t LEFT JOIN scope_periods p ON p.scope = t.scope
            WHERE t.kind = 'job' AND t.scope > $after AND t.started_at_ms >= $from AND t.started_at_ms < $to AND ($tenant = '' OR t.tenant = $tenant)
                AND ($scope = '' OR t.scope = $scope)
            GROUP BY t.scope ORDER BY t.scope LIMIT $limit
            """;
        command.Parameters.AddWithValue("$from", fromUnixMs);
        command.Parameters.AddWithValue("$to", toUnixMs);
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$after", afterScope);
        command.Parameters.AddWithValue("$scope", scope);
        command.Parameters.AddWithValue("$limit", limit);
        var jobs = new List<JobRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            jobs.Add(TaskRows.Job(reader));
        return jobs;
    }
}
