using BudgetGrains.Grains;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Server.Services;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tasks;

/// <summary>
/// Cost per outcome (docs/decisions/0042) and jobs (0043): StartJob through the job's task scope, and the two reports read
/// from the task table and the task scopes' counters (ITaskStore), on whichever journal backend the silo runs.
/// </summary>
internal sealed class TaskReports(ITaskStore store, BudgetAdministration budgets)
{
    public const string ByFeature = "feature";
    public const string ByTenant = "tenant";

    public async Task<V1.CostPerOutcomeReport> CostPerOutcomeAsync(V1.GetCostPerOutcomeRequest request, CancellationToken cancellationToken)
    {
        if (request.GroupBy is not (ByFeature or ByTenant))
            throw Status(StatusCode.InvalidArgument, $"group_by must be {ByFeature} or {ByTenant}, not '{Auth.AgentTenancy.Short(request.GroupBy)}'");
        if (request.Kind is not ("" or TaskKinds.Task or TaskKinds.Job))
            throw Status(StatusCode.InvalidArgument, $"kind must be {TaskKinds.Task}, {TaskKinds.Job} or empty (both), not '{Auth.AgentTenancy.Short(request.Kind)}'");
        var (from, to) = Range(request.FromUnixMs, request.ToUnixMs);
        CheckTenant(request.Tenant);

        var query = new TaskCostQuery(request.GroupBy, from, to, request.Tenant, request.Kind);
        var rows = await store.ReadCostPerOutcomeAsync(query, Limits.MaxOutcomeReportRows + 1, cancellationToken);
        var all = await store.ReadCostPerOutcomeAsync(query with { GroupBy = "" }, Limits.MaxOutcomeReportRows + 1, cancellationToken);
        var truncated = rows.Count > Limits.MaxOutcomeReportRows;
        if (truncated) rows = rows.Take(Limits.MaxOutcomeReportRows).ToList();

        var report = new V1.CostPerOutcomeReport
        {
            GroupBy = request.GroupBy, FromUnixMs = request.FromUnixMs, ToUnixMs = request.ToUnixMs, Truncated = truncated,
            Total = ToProto(Sum("", all)),
        };
        report.Rows.AddRange(rows.Select(ToProto));
        report.Totals.AddRange(rows.GroupBy(r => r.Key, StringComparer.Ordinal).Select(g => ToProto(Sum(g.Key, g))));
        return report;
    }

    public async Task<V1.Job> StartJobAsync(V1.StartJobRequest request)
    {
        var start = new JobStart(request.Tenant, request.Feature, request.Agent, request.EstimateNanos, request.CapNanos);
        ProtoMapping.Unwrap(await budgets.StartJobAsync(request.Tenant, request.Job, start));
        var scope = ScopeIds.OfTask(request.Tenant, request.Job);
        // The job's row is written with the start; read it back so the answer is what the report shows.
        var rows = await store.ReadJobsAsync(0, long.MaxValue, "", "", 1, CancellationToken.None, scope);
        return rows.Count == 1
            ? ToProto(rows[0])
            : throw Status(StatusCode.Unavailable, $"job {scope} was started but cannot be read back yet; retry");
    }

    public async Task<V1.JobReport> JobReportAsync(V1.GetJobReportRequest request, CancellationToken cancellationToken)
    {
        var (from, to) = Range(request.FromUnixMs, request.ToUnixMs);
        CheckTenant(request.Tenant);
        if (PageTokens.Size(request.PageSize) is not { } size) throw Status(StatusCode.InvalidArgument, PageTokens.InvalidSize.Message);
        if (!PageTokens.TryDecode(request.PageToken, out var after)) throw Status(StatusCode.InvalidArgument, PageTokens.InvalidToken.Message);
        var rows = await store.ReadJobsAsync(from, to, request.Tenant, after, size + 1, cancellationToken);
        var report = new V1.JobReport();
        report.Jobs.AddRange(rows.Take(size).Select(ToProto));
        if (rows.Count > size) report.NextPageToken = PageTokens.Encode(rows[size - 1].Scope);
        return report;
    }

    /// <summary>Integer nanos divided, rounded to the nearest (halves up: every amount here is 0 or more); 0 when there is
    /// nothing to divide by. Int128 so that cost × 1,000,000 cannot overflow, and the result is capped at the largest int64.</summary>
    internal static long PerUnit(Int128 nanos, long units) =>
        units <= 0 ? 0 : (long)Int128.Min((nanos * 2 + units) / (2 * (Int128)units), long.MaxValue);

    private static V1.OutcomeCost ToProto(TaskCostRow r) => new()
    {
        Key = r.Key, Outcome = r.Outcome, Tasks = r.Tasks, CostNanos = r.CostNanos, Inferences = r.Inferences, ApiCalls = r.ApiCalls,
        Retries = r.Retries, Tokens = r.Tokens,
        CostPerTaskNanos = PerUnit(r.CostNanos, r.Tasks),
        CostPerInferenceNanos = PerUnit(r.CostNanos, r.Inferences),
        CostPerApiCallNanos = PerUnit(r.CostNanos, r.ApiCalls),
        CostPerMillionTokensNanos = PerUnit((Int128)r.CostNanos * 1_000_000, r.Tokens),
    };

    private static TaskCostRow Sum(string key, IEnumerable<TaskCostRow> rows) => rows.Aggregate(new TaskCostRow(key, "", 0, 0, 0, 0, 0, 0),
        (s, r) => new TaskCostRow(key, "", s.Tasks + r.Tasks, checked(s.CostNanos + r.CostNanos), s.Inferences + r.Inferences,
            s.ApiCalls + r.ApiCalls, s.Retries + r.Retries, s.Tokens + r.Tokens));

    private static V1.Job ToProto(JobRow j)
    {
        var difference = j.ActualNanos - j.EstimateNanos;
        var slash = j.Scope.LastIndexOf('/');
        return new V1.Job
        {
            Scope = j.Scope, Tenant = j.Tenant, Job_ = j.Scope[(slash + 1)..], Feature = j.Feature, Agent = j.Agent,
            EstimateNanos = j.EstimateNanos, CapNanos = j.CapNanos, StartedAtUnixMs = j.StartedAtUnixMs, EndedAtUnixMs = j.EndedAtUnixMs,
            Outcome = j.Outcome, Intervals = j.Intervals, IntervalEstimateNanos = j.IntervalEstimateNanos, ActualNanos = j.ActualNanos,
            HeldNanos = j.HeldNanos, Denials = j.Denials, EstimateDifferenceNanos = difference,
            // Toward zero, like the reconciliation's drift.
            EstimateErrorBasisPoints = j.EstimateNanos == 0 ? 0 : (long)((Int128)difference * 10_000 / j.EstimateNanos),
        };
    }

    /// <summary>[from, to) with 0 = no upper bound.</summary>
    private static (long From, long To) Range(long from, long to)
    {
        if (from < 0 || to < 0) throw Status(StatusCode.InvalidArgument, "from_unix_ms and to_unix_ms must be 0 or more");
        if (to != 0 && to <= from) throw Status(StatusCode.InvalidArgument, "to_unix_ms must be after from_unix_ms");
        return (from, to == 0 ? long.MaxValue : to);
    }

    private static void CheckTenant(string tenant)
    {
        if (tenant.Length > 0 && ScopeIds.ValidateKey(tenant, "tenant") is { } bad) throw Status(StatusCode.InvalidArgument, bad);
    }

    private static RpcException Status(StatusCode code, string message) => new(new Grpc.Core.Status(code, message));
}
