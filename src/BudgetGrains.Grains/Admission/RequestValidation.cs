using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Admission;

/// <summary>
/// Input checks of the data plane. A request that fails one gets INVALID_ARGUMENT with the
/// message returned here and changes nothing.
/// </summary>
public static class RequestValidation
{
    public static Failure? Reserve(ReserveCommand command) =>
        RequestId(command.RequestId, "request_id")
        ?? Attribution(command.Attribution)
        ?? Estimate(command.EstimateNanos, command.EstimateUsage, command.MeterEstimate, learnedFrom: command.Attribution.Feature)
        ?? Task(command.Task)
        ?? HoldTtl(command.HoldTtlMs);

    public static Failure? Check(CheckCommand command) =>
        Attribution(command.Attribution)
        ?? Estimate(command.EstimateNanos, command.EstimateUsage, command.MeterEstimate)
        ?? Task(command.Task);

    public static Failure? Commit(CommitCommand command)
    {
        if (RequestId(command.ReservationId, "reservation_id") is { } bad) return bad;
        if (command.ActualNanos is < 0 or > Limits.MaxCallAmountNanos)
            return Failure.Invalid($"actual_nanos must be between 0 and {Limits.MaxCallAmountNanos}");
        if (command.ActualNanos > 0 && command.Usage is not null)
            return Failure.Invalid("give actual_nanos or usage, not both");
        if (command.Usage is { } usage && Usage(usage, "usage") is { } badUsage) return badUsage;
        if (Meters.MeterRules.Quantities(command.MeterActual, "meters") is { } badMeters) return badMeters;
        if (command.Outcome.Length > Limits.MaxOutcomeLength)
            return Failure.Invalid($"outcome is longer than {Limits.MaxOutcomeLength} characters");
        return null;
    }

    public static Failure? Release(string reservationId) => RequestId(reservationId, "reservation_id");

    /// <summary>A WatchBudgets request: an attribution (as for Check), named scopes, or both.</summary>
    public static Failure? Watch(Attribution attribution, IReadOnlyList<string> scopes)
    {
        var named = attribution.NamedScopes().Count + scopes.Count;
        if (named > Limits.MaxWatchScopes)
            return Failure.Invalid($"the request names {named} scopes (attribution and scopes); the limit is {Limits.MaxWatchScopes}");
        foreach (var scope in scopes)
            if (ScopeIds.Validate(scope) is { } why) return Failure.Invalid(why);
        if (attribution.NamedScopes().Count > 0 || attribution.LabelMap.Count > 0) return Attribution(attribution);
        return scopes.Count == 0 ? Failure.Invalid("name an attribution or scopes to watch") : null;
    }

    private static Failure? RequestId(string id, string field)
    {
        if (id.Length == 0) return Failure.Invalid($"{field} is required");
        // An agent key's ids arrive as "<tenant>/<id>" (docs/decisions/0019-tenant-isolation.md): the limit is on the id.
        var slash = id.IndexOf('/');
        var own = slash > 0 && slash <= Limits.MaxScopeKeyLength ? id.Length - slash - 1 : id.Length;
        if (own > Limits.MaxRequestIdLength)
            return Failure.Invalid($"{field} is {own} characters; the limit is {Limits.MaxRequestIdLength}");
        foreach (var c in id)
            if (char.IsControl(c)) return Failure.Invalid($"{field} contains a control character");
        return null;
    }

    private static Failure? Attribution(Attribution a)
    {
        var badKey = Key(a.Tenant, "attribution.tenant") ?? Key(a.Feature, "attribution.feature") ?? Key(a.Agent, "attribution.agent")
            ?? Key(a.Task, "attribution.task") ?? Key(a.Team, "attribution.team") ?? Key(a.CostCenter, "attribution.cost_center");
        if (badKey is not null) return badKey;
        if (a.NamedBudgets.Count > Limits.MaxNamedBudgets)
            return Failure.Invalid($"attribution.budgets has {a.NamedBudgets.Count} entries; the limit is {Limits.MaxNamedBudgets}");
        foreach (var budget in a.NamedBudgets)
            if (ScopeIds.ValidateKey(budget, "attribution.budgets entry") is { } why) return Failure.Invalid(why);
        if (a.LabelMap.Count > Limits.MaxLabels)
            return Failure.Invalid($"attribution.labels has {a.LabelMap.Count} entries; the limit is {Limits.MaxLabels}");
        foreach (var (key, value) in a.LabelMap)
        {
            if (key.Length is 0 or > Limits.MaxLabelKeyLength)
                return Failure.Invalid($"label keys must be 1 to {Limits.MaxLabelKeyLength} characters");
            if (value.Length > Limits.MaxLabelValueLength)
                return Failure.Invalid($"label '{ScopeIds.Truncate(key)}' is longer than {Limits.MaxLabelValueLength} characters");
        }
        if (a.Tenant.Length + a.Feature.Length + a.Agent.Length + a.Task.Length + a.Team.Length + a.CostCenter.Length == 0
            && a.NamedBudgets.Count == 0)
            return Failure.Invalid("attribution names no scope: give at least a tenant, feature, agent, task, team, cost_center or budget");
        return null;
    }

    private static Failure? Key(string key, string field) =>
        key.Length == 0 ? null : ScopeIds.ValidateKey(key, field) is { } why ? Failure.Invalid(why) : null;

    private static Failure? Estimate(long estimateNanos, TokenCounts? usage, IReadOnlyList<Meters.MeterQuantity> meters, string learnedFrom = "")
    {
        if (Meters.MeterRules.Quantities(meters, "estimate_meters") is { } badMeters) return badMeters;
        if (estimateNanos is < 0 or > Limits.MaxCallAmountNanos)
            return Failure.Invalid($"estimate_nanos must be between 1 and {Limits.MaxCallAmountNanos}");
        if (estimateNanos > 0 && usage is not null)
            return Failure.Invalid("give estimate_nanos or estimate_usage, not both");
        if (estimateNanos == 0 && usage is null && meters.Count == 0 && learnedFrom.Length == 0)
            return Failure.Invalid("estimate_nanos must be positive, or estimate_usage or estimate_meters given to be priced, or (Reserve) a feature named to use its learned estimate");
        return usage is null ? null : Usage(usage, "estimate_usage");
    }

    private static Failure? Usage(TokenCounts usage, string field)
    {
        if (usage.Model.Length is 0 or > Limits.MaxModelNameLength)
            return Failure.Invalid($"{field}.model must be 1 to {Limits.MaxModelNameLength} characters");
        foreach (var tokens in (ReadOnlySpan<long>)[usage.InputTokens, usage.CachedInputTokens, usage.OutputTokens, usage.ReasoningTokens])
            if (tokens is < 0 or > Limits.MaxTokensPerCall)
                return Failure.Invalid($"{field} token counts must be between 0 and {Limits.MaxTokensPerCall}");
        return null;
    }

    private static Failure? Task(TaskPosition task) =>
        task.Depth is < 0 or > Limits.MaxTaskDepth
            ? Failure.Invalid($"task.depth must be between 0 and {Limits.MaxTaskDepth}")
            : null;

    private static Failure? HoldTtl(long ttlMs) =>
        ttlMs != 0 && ttlMs is < Limits.MinHoldTtlMs or > Limits.MaxHoldTtlMs
            ? Failure.Invalid($"hold_ttl_ms must be 0 (default {Limits.DefaultHoldTtlMs}) or between {Limits.MinHoldTtlMs} and {Limits.MaxHoldTtlMs}")
            : null;
}
