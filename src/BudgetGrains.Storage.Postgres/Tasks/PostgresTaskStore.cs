using BudgetGrains.Grains.Storage;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Tasks;

/// <summary>The task table's reads on PostgreSQL, the same queries and answers as SqliteTaskStore.</summary>
public sealed class PostgresTaskStore(NpgsqlDataSource dataSource) : ITaskStore
{
    public async Task<IReadOnlyList<TaskCostRow>> ReadCostPerOutcomeAsync(TaskCostQuery query, int limit, CancellationToken cancellationToken)
    {
        var key = query.GroupBy switch { "feature" => "t.feature", "tenant" => "t.tenant", _ => "''::text COLLATE \"C\"" };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, $"""
            SELECT {key} AS k, (CASE WHEN t.ended_at_ms = 0 THEN 'open' ELSE t.outcome END) COLLATE "C" AS o, COUNT(DISTINCT t.scope),
                COALESCE(SUM(p.spent_nanos), 0)::bigint, COALESCE(SUM(p.commits), 0)::bigint, COALESCE(SUM(p.calls), 0)::bigint,
                COALESCE(SUM(p.retries), 0)::bigint,
                COALESCE(SUM(p.input_tokens + p.cached_input_tokens + p.output_tokens + p.reasoning_tokens), 0)::bigint
            FROM tasks t LEFT JOIN scope_periods p ON p.scope = t.scope
            WHERE t.started_at_ms >= $1 AND t.started_at_ms < $2 AND ($3 = '' OR t.tenant = $3) AND ($4 = '' OR t.kind = $4)
            GROUP BY 1, 2 ORDER BY 1, 2 LIMIT $5
            """, query.FromUnixMs, query.ToUnixMs, query.Tenant, query.Kind, limit);
        var rows = new List<TaskCostRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(TaskRows.Cost(reader));
        return rows;
    }

    public async Task<IReadOnlyList<JobRow>> ReadJobsAsync(long fromUnixMs, long toUnixMs, string tenant, string afterScope, int limit,
        CancellationToken cancellationToken, string scope = "")
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT t.scope, t.tenant, t.feature, t.agent, t.estimate_nanos, t.cap_nanos, t.started_at_ms, t.ended_at_ms,
                CASE WHEN t.ended_at_ms = 0 THEN 'open' ELSE t.outcome END, COALESCE(SUM(p.commits), 0)::bigint, t.committed_estimate_nanos,
                COALESCE(SUM(p.spent_nanos), 0)::bigint, COALESCE((SELECT h.held_nanos FROM scope_holds h WHERE h.scope = t.scope), 0),
                COALESCE(SUM(p.denials), 0)::bigint
            FROM tasks t LEFT JOIN scope_periods p ON p.scope = t.scope
            WHERE t.kind = 'job' AND t.scope > $4 AND t.started_at_ms >= $1 AND t.started_at_ms < $2 AND ($3 = '' OR t.tenant = $3)
                AND ($6 = '' OR t.scope = $6)
            GROUP BY t.scope ORDER BY t.scope LIMIT $5
            """, fromUnixMs, toUnixMs, tenant, afterScope, limit, scope);
        var jobs = new List<JobRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            jobs.Add(TaskRows.Job(reader));
        return jobs;
    }
}
