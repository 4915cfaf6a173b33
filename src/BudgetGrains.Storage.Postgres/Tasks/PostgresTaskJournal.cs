using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Storage;
using Npgsql;
using NpgsqlTypes;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Tasks;

/// <summary>The task table (component "tasks", docs/decisions/0044) in the transaction of a group-commit batch; the same
/// table and meaning as SqliteTaskJournal.</summary>
public sealed class PostgresTaskJournal : IPostgresJournalHandler
{
    public string Component => "tasks";

    public IReadOnlyList<string> Migrations { get; } =
    [
        """
        CREATE TABLE tasks(
            scope text COLLATE "C" PRIMARY KEY,
            tenant text COLLATE "C" NOT NULL,
            feature text COLLATE "C" NOT NULL,
            agent text COLLATE "C" NOT NULL,
            kind text NOT NULL,
            started_at_ms bigint NOT NULL,
            ended_at_ms bigint NOT NULL,
            outcome text COLLATE "C" NOT NULL,
            estimate_nanos bigint NOT NULL,
            cap_nanos bigint NOT NULL,
            committed_estimate_nanos bigint NOT NULL);
        CREATE INDEX tasks_by_start ON tasks(started_at_ms);
        """,
    ];

    private const string InsertStarted = """
        INSERT INTO tasks VALUES($1, $2, $3, $4, 'task', $5, 0, '', 0, 0, 0) ON CONFLICT(scope) DO NOTHING
        """;

    private const string UpsertJob = """
        INSERT INTO tasks VALUES($1, $2, $3, $4, 'job', $7, 0, '', $5, $6, 0)
        ON CONFLICT(scope) DO UPDATE SET kind = 'job', estimate_nanos = excluded.estimate_nanos, cap_nanos = excluded.cap_nanos,
            feature = CASE WHEN excluded.feature <> '' THEN excluded.feature ELSE tasks.feature END,
            agent = CASE WHEN excluded.agent <> '' THEN excluded.agent ELSE tasks.agent END
        """;

    private const string UpsertEnded = """
        INSERT INTO tasks VALUES($1, $2, '', '', 'task', $4, $4, $3, 0, 0, 0)
        ON CONFLICT(scope) DO UPDATE SET ended_at_ms = excluded.ended_at_ms, outcome = excluded.outcome
        """;

    private const string AddEstimates = """
        UPDATE tasks t SET committed_estimate_nanos = t.committed_estimate_nanos + c.nanos
        FROM unnest($1::text[], $2::bigint[]) AS c(scope, nanos) WHERE t.scope = c.scope
        """;

    public bool CanHandle(IJournalRecord record) => record is TaskStarted or JobStarted or TaskCommitted or TaskEnded;

    public void Append(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records)
    {
        var estimates = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            switch (record)
            {
                case TaskStarted t:
                    batch.BatchCommands.Add(BatchCommand(InsertStarted, t.Scope, t.Tenant, t.Feature, t.Agent, t.StartedAtUnixMs));
                    break;
                case JobStarted j:
                    batch.BatchCommands.Add(BatchCommand(UpsertJob, j.Scope, j.Tenant, j.Feature, j.Agent, j.EstimateNanos, j.CapNanos, j.StartedAtUnixMs));
                    break;
                case TaskEnded e:
                    batch.BatchCommands.Add(BatchCommand(UpsertEnded, e.Scope, e.Tenant, e.Outcome, e.EndedAtUnixMs));
                    break;
                case TaskCommitted c:
                    estimates[c.Scope] = estimates.GetValueOrDefault(c.Scope) + c.EstimateNanos;
                    break;
            }
        }
        // One statement for every task of the batch, after the rows a first call inserts in the same batch.
        if (estimates.Count > 0)
            batch.BatchCommands.Add(BatchCommand(AddEstimates, Array(estimates.Keys, NpgsqlDbType.Text), Array(estimates.Values, NpgsqlDbType.Bigint)));
    }
}
