using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Admission;

/// <summary>Who a call is attributed to (the domain twin of budget.v1.Attribution).</summary>
[GenerateSerializer, Immutable]
public sealed record Attribution(
    string Tenant = "",
    string Feature = "",
    string Agent = "",
    string Task = "",
    string Team = "",
    string CostCenter = "",
    IReadOnlyList<string>? Budgets = null,
    IReadOnlyDictionary<string, string>? Labels = null)
{
    public IReadOnlyList<string> NamedBudgets => Budgets ?? [];
    public IReadOnlyDictionary<string, string> LabelMap => Labels ?? EmptyLabels;
    private static readonly Dictionary<string, string> EmptyLabels = [];

    /// <summary>The task's scope ("task/tenant/task"), or "" when no task is named.</summary>
    public string TaskScope => Task.Length == 0 ? "" : ScopeIds.OfTask(Tenant, Task);

    /// <summary>The tenant's scope, "" without a tenant.</summary>
    public string TenantScope => Tenant.Length == 0 ? "" : ScopeIds.Of(ScopeIds.Tenant, Tenant);

    /// <summary>
    /// The scopes the attribution names, leaf first: task, agent, feature, tenant, named budgets,
    /// team, cost center. The admission chain follows each with its ancestors.
    /// </summary>
    public List<string> NamedScopes()
    {
        var scopes = new List<string>(6 + NamedBudgets.Count);
        if (Task.Length > 0) scopes.Add(TaskScope);
        if (Agent.Length > 0) scopes.Add(ScopeIds.Of(ScopeIds.Agent, Agent));
        if (Feature.Length > 0) scopes.Add(ScopeIds.Of(ScopeIds.Feature, Feature));
        if (Tenant.Length > 0) scopes.Add(ScopeIds.Of(ScopeIds.Tenant, Tenant));
        foreach (var budget in NamedBudgets) scopes.Add(ScopeIds.Of(ScopeIds.Budget, budget));
        if (Team.Length > 0) scopes.Add(ScopeIds.Of(ScopeIds.Team, Team));
        if (CostCenter.Length > 0) scopes.Add(ScopeIds.Of(ScopeIds.CostCenter, CostCenter));
        return scopes;
    }
}

/// <summary>Token counts of a call, priced by the <see cref="PriceCatalog"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record TokenCounts(string Model, long InputTokens, long CachedInputTokens, long OutputTokens, long ReasoningTokens)
{
    /// <summary>No tokens (a call given in nanos only).</summary>
    public static readonly TokenCounts None = new("", 0, 0, 0, 0);

    /// <summary>What a tokens-per-minute limit counts: every token of the call.</summary>
    public long Total => InputTokens + CachedInputTokens + OutputTokens + ReasoningTokens;
}

/// <summary>Where the call sits in its agent task.</summary>
[GenerateSerializer, Immutable]
public readonly record struct TaskPosition(int Depth, bool IsRetry);

/// <summary>Hold an estimate before a model call.</summary>
[GenerateSerializer, Immutable]
public sealed record ReserveCommand(
    string RequestId,
    Attribution Attribution,
    long EstimateNanos,
    TokenCounts? EstimateUsage,
    TaskPosition Task,
    long HoldTtlMs,
    IReadOnlyList<Meters.MeterQuantity>? EstimateMeters = null)
{
    /// <summary>Estimated meter usage (docs/decisions/0039), priced by the server and added to the estimate.</summary>
    public IReadOnlyList<Meters.MeterQuantity> MeterEstimate => EstimateMeters ?? [];
}

/// <summary>Record what a reserved call cost.</summary>
[GenerateSerializer, Immutable]
public sealed record CommitCommand(string ReservationId, long ActualNanos, TokenCounts? Usage, string Outcome,
    IReadOnlyList<Meters.MeterQuantity>? Meters = null)
{
    /// <summary>Actual meter usage, priced by the server and added to the actual.</summary>
    public IReadOnlyList<Meters.MeterQuantity> MeterActual => Meters ?? [];
}

/// <summary>Would a reserve be admitted?</summary>
public sealed record CheckCommand(Attribution Attribution, long EstimateNanos, TokenCounts? EstimateUsage, TaskPosition Task,
    IReadOnlyList<Meters.MeterQuantity>? EstimateMeters = null)
{
    public IReadOnlyList<Meters.MeterQuantity> MeterEstimate => EstimateMeters ?? [];
}
