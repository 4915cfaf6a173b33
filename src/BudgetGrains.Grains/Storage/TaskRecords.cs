using BudgetGrains.Grains.Journal;

namespace BudgetGrains.Grains.Storage;

// The task table (docs/decisions/0044): one row per agent task or job, so that cost per outcome and the job report read
// a row per task plus its scope's counters, never the ledger. Each record is written in the same transaction as the
// change that justifies it: the first admitted call, a job's start, a commit, the end.

/// <summary>A task's first admitted call (written with that reservation): who it runs for and when it started. A task
/// already known (a job, or a later period's first call) keeps its row.</summary>
public sealed record TaskStarted(string Scope, string Tenant, string Feature, string Agent, long StartedAtUnixMs) : IJournalRecord;

/// <summary>StartJob: the task is a job with a pre-run estimate and a cap (0 = none set by StartJob).</summary>
public sealed record JobStarted(string Scope, string Tenant, string Feature, string Agent, long EstimateNanos, long CapNanos,
    long StartedAtUnixMs) : IJournalRecord;

/// <summary>A commit of one of the task's calls: the estimate its reserve held (for a job, that interval's estimate).</summary>
public sealed record TaskCommitted(string Scope, long EstimateNanos) : IJournalRecord;

/// <summary>EndTask: the task's outcome.</summary>
public sealed record TaskEnded(string Scope, string Tenant, string Outcome, long EndedAtUnixMs) : IJournalRecord;

/// <summary>What a cost-per-outcome query asks: tasks started in [from, to), grouped by "feature" or "tenant" ("" = one group).</summary>
public sealed record TaskCostQuery(string GroupBy, long FromUnixMs, long ToUnixMs, string Tenant, string Kind);

/// <summary>The tasks of one key and outcome ("open" when not ended), summed over their scopes' every period.</summary>
public sealed record TaskCostRow(string Key, string Outcome, long Tasks, long CostNanos, long Inferences, long ApiCalls, long Retries, long Tokens);

/// <summary>One job: its row and its scope's counters summed over every period.</summary>
public sealed record JobRow(string Scope, string Tenant, string Feature, string Agent, long EstimateNanos, long CapNanos,
    long StartedAtUnixMs, long EndedAtUnixMs, string Outcome, long Intervals, long IntervalEstimateNanos, long ActualNanos,
    long HeldNanos, long Denials);

/// <summary>The task table's reads, on the journal's database (SQLite or PostgreSQL).</summary>
public interface ITaskStore
{
    /// <summary>Rows per (key, outcome) in key, outcome order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<TaskCostRow>> ReadCostPerOutcomeAsync(TaskCostQuery query, int limit, CancellationToken cancellationToken);

    /// <summary>Jobs started in [from, to) (of <paramref name="tenant"/>, "" = all; only <paramref name="scope"/>, "" = any) with a
    /// scope after <paramref name="afterScope"/>, in scope order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<JobRow>> ReadJobsAsync(long fromUnixMs, long toUnixMs, string tenant, string afterScope, int limit,
        CancellationToken cancellationToken, string scope = "");
}

/// <summary>The rows of the task reports as both backends select them (same columns, same order).</summary>
public static class TaskRows
{
    public static TaskCostRow Cost(System.Data.Common.DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3),
        r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7));

    public static JobRow Job(System.Data.Common.DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
        r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetString(8), r.GetInt64(9), r.GetInt64(10), r.GetInt64(11),
        r.GetInt64(12), r.GetInt64(13));
}

/// <summary>Names shared by both backends' task tables.</summary>
public static class TaskKinds
{
    public const string Task = "task";
    public const string Job = "job";

    /// <summary>The outcome reported for a task never ended (EndTask refuses it).</summary>
    public const string Open = "open";

    /// <summary>The outcome of an EndTask that named none.</summary>
    public const string Ended = "ended";
}
