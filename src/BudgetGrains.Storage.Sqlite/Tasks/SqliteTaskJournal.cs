using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;
using static BudgetGrains.Storage.Sqlite.SqliteCommands;

namespace BudgetGrains.Storage.Sqlite.Tasks;

/// <summary>
/// The task table (component "tasks", docs/decisions/0044): one row per agent task or job, written in the transaction of
/// the reserve, commit, StartJob or EndTask that changes it. Costs are not copied here: reports sum the task scope's own
/// counters (scope_periods), which already equal the ledger (I2).
/// </summary>
public sealed class SqliteTaskJournal : ISqliteJournalHandler
{
    private const string Component = "tasks";
    private const int SchemaVersion = 1;

    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS tasks(
            scope TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            feature TEXT NOT NULL,
            agent TEXT NOT NULL,
            kind TEXT NOT NULL,
            started_at_ms INTEGER NOT NULL,
            ended_at_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            estimate_nanos INTEGER NOT NULL,
            cap_nanos INTEGER NOT NULL,
            committed_estimate_nanos INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS tasks_by_start ON tasks(started_at_ms);
        """;

    private const string InsertStarted = """
        INSERT INTO tasks VALUES($1, $2, $3, $4, 'task', $5, 0, '', 0, 0, 0) ON CONFLICT(scope) DO NOTHING
        """;

    // A task may run calls before StartJob names it a job: it keeps its start, and takes the names StartJob gives.
    private const string UpsertJob = """
        INSERT INTO tasks VALUES($1, $2, $3, $4, 'job', $7, 0, '', $5, $6, 0)
        ON CONFLICT(scope) DO UPDATE SET kind = 'job', estimate_nanos = excluded.estimate_nanos, cap_nanos = excluded.cap_nanos,
            feature = CASE WHEN excluded.feature <> '' THEN excluded.feature ELSE feature END,
            agent = CASE WHEN excluded.agent <> '' THEN excluded.agent ELSE agent END
        """;

    // A task ended without any call (or before this table existed) gets its row then, started when it ended.
    private const string UpsertEnded = """
        INSERT INTO tasks VALUES($1, $2, '', '', 'task', $4, $4, $3, 0, 0, 0)
        ON CONFLICT(scope) DO UPDATE SET ended_at_ms = excluded.ended_at_ms, outcome = excluded.outcome
        """;

    private const string AddEstimate = "UPDATE tasks SET committed_estimate_nanos = committed_estimate_nanos + $2 WHERE scope = $1";

    private readonly Dictionary<string, long> _estimates = new(StringComparer.Ordinal);

    public void CreateSchema(SqliteConnection connection) =>
        SchemaVersions.Upgrade(connection, Component, SchemaVersion, (transaction, _) => SchemaVersions.Execute(connection, Schema, transaction));

    public bool CanHandle(IJournalRecord record) => record is TaskStarted or JobStarted or TaskCommitted or TaskEnded;

    public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
    {
        _estimates.Clear();
        foreach (var record in records)
        {
            switch (record)
            {
                case TaskStarted t:
                    Run(connection, transaction, InsertStarted, t.Scope, t.Tenant, t.Feature, t.Agent, t.StartedAtUnixMs);
                    break;
                case JobStarted j:
                    Run(connection, transaction, UpsertJob, j.Scope, j.Tenant, j.Feature, j.Agent, j.EstimateNanos, j.CapNanos, j.StartedAtUnixMs);
                    break;
                case TaskEnded e:
                    Run(connection, transaction, UpsertEnded, e.Scope, e.Tenant, e.Outcome, e.EndedAtUnixMs);
                    break;
                case TaskCommitted c:
                    // Summed per task, so a batch costs one update per task, not one per commit.
                    _estimates[c.Scope] = _estimates.GetValueOrDefault(c.Scope) + c.EstimateNanos;
                    break;
            }
        }
        foreach (var (scope, nanos) in _estimates) Run(connection, transaction, AddEstimate, scope, nanos);
    }
}
