using BudgetGrains.Grains;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>Explicit mapping between budget.v1 wire messages and domain types; proto types stop here.</summary>
internal static class ProtoMapping
{
    public static ReserveCommand ToCommand(V1.ReserveRequest r) => new(
        r.RequestId, ToAttribution(r.Attribution), r.EstimateNanos, ToUsage(r.EstimateUsage), ToTask(r.Task), r.HoldTtlMs,
        MeterMapping.ToQuantities(r.EstimateMeters));

    public static CommitCommand ToCommand(V1.CommitRequest r) =>
        new(r.ReservationId, r.ActualNanos, ToUsage(r.Usage), r.Outcome, MeterMapping.ToQuantities(r.Meters));

    public static CheckCommand ToCommand(V1.CheckRequest r) =>
        new(ToAttribution(r.Attribution), r.EstimateNanos, ToUsage(r.EstimateUsage), ToTask(r.Task), MeterMapping.ToQuantities(r.EstimateMeters));

    public static V1.ReserveResponse ToResponse(ReserveAnswer a)
    {
        var response = new V1.ReserveResponse
        {
            Decision = a.Admitted ? V1.Decision.Admitted : V1.Decision.Denied,
            ReservationId = a.ReservationId,
            Reason = (V1.DenyReason)a.Reason,
            DeniedScope = a.DeniedScope,
            RemainingNanos = a.RemainingNanos,
            ExpiresAtUnixMs = a.ExpiresAtUnixMs,
            HeldNanos = a.HeldNanos,
            RetryAfterMs = a.RetryAfterMs,
            EstimateSource = a.Admitted ? (V1.EstimateSource)a.EstimateSource : V1.EstimateSource.Unspecified,
            DeniedMeter = a.DeniedMeter,
            RemainingMeterQuantity = a.RemainingMeterQuantity,
        };
        response.CrossedThresholds.AddRange(a.CrossedThresholds);
        return response;
    }

    public static V1.CommitResponse ToResponse(CommitAnswer a) =>
        new() { ChargedNanos = a.ChargedNanos, Late = a.Late, Overage = a.Overage };

    public static V1.CheckResponse ToResponse(CheckAnswer a) => new()
    {
        Decision = a.Admitted ? V1.Decision.Admitted : V1.Decision.Denied,
        Reason = (V1.DenyReason)a.Reason,
        DeniedScope = a.DeniedScope,
        RemainingNanos = a.RemainingNanos,
        RetryAfterMs = a.RetryAfterMs,
        DeniedMeter = a.DeniedMeter,
        RemainingMeterQuantity = a.RemainingMeterQuantity,
    };

    /// <summary>
    /// The change an upsert asks for (docs/decisions/0021): with an update_mask, the fields it names ("*" = all); without
    /// one, the fields given a value other than their default. A field with a value that the mask leaves out is refused
    /// rather than silently ignored.
    /// </summary>
    public static BudgetUpdate ToUpdate(V1.UpsertBudgetRequest r)
    {
        var values = new BudgetSettings(r.Scope, r.LimitNanos, (BudgetPeriod)r.Period, r.ThresholdPercents, r.Parent, r.Frozen, r.Currency,
            r.RequestsPerMinute, r.TokensPerMinute,
            r.MeterLimits.Count == 0 ? null : [.. r.MeterLimits.Select(l => new MeterLimit(l.Meter, l.MaxQuantity))]);
        var given = BudgetUpdate.Given(values);
        if (r.UpdateMask is null) return new BudgetUpdate(values, given);
        var named = BudgetFields.None;
        foreach (var path in r.UpdateMask.Paths)
        {
            if (path.Length == 0) continue; // "updateMask": "" in JSON: no field
            if (path == "*")
            {
                named = BudgetFields.All;
                continue;
            }
            var field = BudgetUpdate.FieldNames.FirstOrDefault(f => f.Name == path).Field;
            if (field == BudgetFields.None)
                throw Invalid($"update_mask names '{Truncate(path)}'; the fields it may name are {string.Join(", ", BudgetUpdate.FieldNames.Select(f => f.Name))}, or *");
            named |= field;
        }
        if ((given & ~named) is var stray and not BudgetFields.None)
        {
            var names = BudgetUpdate.FieldNames.Where(f => (stray & f.Field) != 0).Select(f => f.Name);
            throw Invalid($"{string.Join(", ", names)} {(names.Count() == 1 ? "has a value but is" : "have values but are")} not in update_mask; add them to it or leave them out");
        }
        return new BudgetUpdate(values, named);
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    public static V1.BudgetStatus ToStatus(BudgetStatus s)
    {
        var status = new V1.BudgetStatus
        {
            Scope = s.Scope,
            LimitNanos = s.LimitNanos,
            SpentNanos = s.SpentNanos,
            HeldNanos = s.HeldNanos,
            OpenHolds = s.OpenHolds,
            Period = (V1.Period)s.Period,
            PeriodStartUnixMs = s.PeriodStartUnixMs,
            PeriodEndUnixMs = s.PeriodEndUnixMs,
            Parent = s.Parent,
            Frozen = s.Frozen,
            Currency = s.Currency,
            Denials = s.Denials,
            Commits = s.Commits,
            Calls = s.Calls,
            Retries = s.Retries,
            DepthMaxSeen = s.DepthMaxSeen,
            Ended = s.Ended,
            RequestsPerMinute = s.RequestsPerMinute,
            TokensPerMinute = s.TokensPerMinute,
            DefaultBudget = s.DefaultBudget,
        };
        status.ThresholdPercents.AddRange(s.ThresholdPercents);
        foreach (var m in s.MeterLimits)
            status.Meters.Add(new V1.MeterLimitStatus { Meter = m.Meter, MaxQuantity = m.MaxQuantity, UsedQuantity = m.UsedQuantity, HeldQuantity = m.HeldQuantity });
        return status;
    }

    public static V1.PeriodSummary ToPeriod(PeriodSummary p) => new()
    {
        Scope = p.Scope,
        Period = (V1.Period)p.Period,
        StartUnixMs = p.StartUnixMs,
        EndUnixMs = p.EndUnixMs,
        LimitNanos = p.LimitNanos,
        SpentNanos = p.SpentNanos,
        Commits = p.Commits,
        Denials = p.Denials,
        Reset = p.Reset,
        Currency = p.Currency,
    };

    public static V1.UsageReport ToReport(UsageReport r)
    {
        var report = new V1.UsageReport
        {
            Scope = r.Scope,
            Period = (V1.Period)r.Period,
            PeriodStartUnixMs = r.PeriodStartUnixMs,
            PeriodEndUnixMs = r.PeriodEndUnixMs,
            Currency = r.Currency,
            Total = ToUsageRow(r.Total),
            GroupBy = r.GroupBy,
            NextPageToken = r.NextPageToken,
        };
        report.Rows.AddRange(r.Rows.Select(ToUsageRow));
        return report;
    }

    private static V1.UsageRow ToUsageRow(UsageRow r) => new()
    {
        Key = r.Key,
        SpentNanos = r.SpentNanos,
        Commits = r.Commits,
        InputTokens = r.InputTokens,
        CachedInputTokens = r.CachedInputTokens,
        OutputTokens = r.OutputTokens,
        ReasoningTokens = r.ReasoningTokens,
    };

    public static TaskPolicy ToPolicy(V1.TaskPolicy? p) => p is null
        ? TaskPolicy.None
        : new TaskPolicy(p.MaxDepth?.Value, p.MaxRetries?.Value, p.MaxCalls?.Value, p.MaxSpendNanos?.Value, p.HoldTtlMs?.Value);

    public static V1.TaskPolicyStatus ToPolicyStatus(string scope, TaskPolicy p) => new()
    {
        Scope = scope,
        Policy = new V1.TaskPolicy
        {
            MaxDepth = ToLimit(p.MaxDepth),
            MaxRetries = ToLimit(p.MaxRetries),
            MaxCalls = ToLimit(p.MaxCalls),
            MaxSpendNanos = ToLimit(p.MaxSpendNanos),
            HoldTtlMs = ToLimit(p.HoldTtlMs),
        },
    };

    public static V1.TenantSettings ToProto(TenantSettings t) => new()
    {
        Tenant = t.Tenant,
        UnknownScopes = (V1.UnknownScopes)t.UnknownScopes,
        EffectiveUnknownScopes = (V1.UnknownScopes)t.EffectiveUnknownScopes,
    };

    private static V1.Limit? ToLimit(long? value) => value is { } v ? new V1.Limit { Value = v } : null;

    /// <summary>The value, or the failure as the gRPC status API.md assigns to it.</summary>
    public static T Unwrap<T>(Result<T> result) where T : class =>
        result.Failure is { } f ? throw new RpcException(new Status(ToStatusCode(f.Kind), f.Message)) : result.Value!;

    private static StatusCode ToStatusCode(FailureKind kind) => kind switch
    {
        FailureKind.InvalidArgument => StatusCode.InvalidArgument,
        FailureKind.NotFound => StatusCode.NotFound,
        FailureKind.FailedPrecondition => StatusCode.FailedPrecondition,
        FailureKind.ResourceExhausted => StatusCode.ResourceExhausted,
        FailureKind.Unavailable => StatusCode.Unavailable,
        FailureKind.Unimplemented => StatusCode.Unimplemented,
        _ => StatusCode.Unknown,
    };

    public static Attribution ToAttribution(V1.Attribution? a) => a is null
        ? new Attribution()
        : new Attribution(a.Tenant, a.Feature, a.Agent, a.Task, a.Team, a.CostCenter, a.Budgets, a.Labels);

    private static TokenCounts? ToUsage(V1.TokenUsage? u) => u is null
        ? null
        : new TokenCounts(u.Model, u.InputTokens, u.CachedInputTokens, u.OutputTokens, u.ReasoningTokens);

    private static TaskPosition ToTask(V1.TaskContext? t) => t is null ? default : new TaskPosition(t.Depth, t.IsRetry);
}
