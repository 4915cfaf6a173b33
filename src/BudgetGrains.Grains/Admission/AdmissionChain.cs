using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Admission;

/// <summary>How a walk along the admission chain ended.</summary>
/// <param name="Passed">Scopes that admitted, in walk order (for a reserve: the scopes now holding).</param>
/// <param name="Parents">The parent link of each passed scope ("" for none), as the scope answered.</param>
/// <param name="DeniedAt">The first scope that denied, with its answer; null when every scope admitted.</param>
/// <param name="RemainingNanos">Smallest remaining over the scopes that answered.</param>
internal sealed record ChainWalk(
    List<string> Passed,
    List<string> Parents,
    string DeniedScope,
    ScopeAnswer? DeniedAt,
    long RemainingNanos,
    List<string> CrossedThresholds,
    Failure? Failure,
    Dictionary<string, TaskPolicy>? Policies = null,
    bool AnyBudget = false,
    Settings.UnknownScopesMode TenantUnknownScopes = Settings.UnknownScopesMode.Unspecified,
    List<ScopeFence>? Fences = null)
{
    /// <summary>The epoch of each passed scope's activation, in walk order (the reserve's write carries them).</summary>
    public List<ScopeFence> PassedFences { get; } = Fences ?? [];

    /// <summary>
    /// Closed mode for unknown scopes (DESIGN.md §3): a walk that every scope admitted, none of which has a budget,
    /// is denied NO_BUDGET when the tenant's setting (else the deployment's) is closed. Null when it stands.
    /// </summary>
    public string? DeniedForNoBudget(Settings.ScopeDefaults defaults) =>
        Failure is null && DeniedAt is null && !AnyBudget && Passed.Count > 0
        && defaults.Effective(TenantUnknownScopes) == Settings.UnknownScopesMode.Closed
            ? Passed[0]
            : null;

    /// <summary>The guardrails a task of this attribution inherits: the stricter of its agent's and feature's.</summary>
    public TaskPolicy InheritedTaskPolicy(Attribution attribution)
    {
        var policy = TaskPolicy.None;
        if (Policies is null) return policy;
        if (Policies.TryGetValue(ScopeIds.Of(ScopeIds.Agent, attribution.Agent), out var agent)) policy = TaskPolicy.Stricter(policy, agent);
        if (Policies.TryGetValue(ScopeIds.Of(ScopeIds.Feature, attribution.Feature), out var feature)) policy = TaskPolicy.Stricter(policy, feature);
        return policy;
    }

    /// <summary>
    /// The policy a call of this attribution runs under: the task's own limits over the inherited ones; without a
    /// task, the feature's and agent's (their hold TTL applies to every call through them).
    /// </summary>
    /// <param name="inherited">This walk's <see cref="InheritedTaskPolicy"/> for the attribution, computed once by the caller.</param>
    public TaskPolicy EffectivePolicy(Attribution attribution, TaskPolicy inherited) =>
        Policies is not null && attribution.TaskScope is { Length: > 0 } task && Policies.TryGetValue(task, out var own)
            ? own.Over(inherited)
            : inherited;
}

/// <summary>
/// The admission chain (DESIGN.md §4): the scopes the attribution names, leaf first, each followed
/// by its ancestors through parent links, de-duplicated. Each scope's answer names its parent,
/// so the chain is discovered while it is walked, one grain call per scope.
/// </summary>
internal static class AdmissionChain
{
    /// <param name="answerHere">A check: the answer of a scope active on this silo, from the figures it published (null:
    /// ask the grain).</param>
    public static async Task<ChainWalk> WalkAsync(
        IGrainFactory grains, Attribution attribution, Func<IScopeGrain, Task<ScopeAnswer>> visit, Func<string, ScopeAnswer?>? answerHere = null)
    {
        var passed = new List<string>(8);
        var parents = new List<string>(8);
        var fences = new List<ScopeFence>(8);
        var crossed = new List<string>();
        var remaining = Remaining.Unlimited;
        var anyBudget = false;
        var tenantMode = Settings.UnknownScopesMode.Unspecified;
        Dictionary<string, TaskPolicy>? policies = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var named in attribution.NamedScopes())
        {
            for (var scope = named; scope.Length > 0 && seen.Add(scope);)
            {
                if (seen.Count > Limits.MaxChainLength)
                    return Stop(Failure.Exhausted($"the admission chain is longer than {Limits.MaxChainLength} scopes; check the parent links of {scope}"));
                ScopeAnswer? answer = answerHere?.Invoke(scope);
                try
                {
                    answer ??= await visit(grains.Scope(scope));
                }
                catch (Orleans.Runtime.LimitExceededException e)
                {
                    return Stop(Failure.Exhausted(e.Message));
                }
                // Also a scope on a silo that just died, or one too slow to answer: the scopes passed so far are undone by the caller.
                catch (Exception e) when (e is StorageUnavailableException or System.Data.Common.DbException or IOException
                    or Orleans.Runtime.OrleansMessageRejectionException or TimeoutException)
                {
                    return Stop(Failure.Unavailable($"scope {scope} could not be loaded: {e.Message}"));
                }
                if (answer.Failure is not null) return Stop(answer.Failure);
                anyBudget |= !answer.Unbudgeted;
                if (answer.UnknownScopes != Settings.UnknownScopesMode.Unspecified && scope == attribution.TenantScope) tenantMode = answer.UnknownScopes;
                remaining = Math.Min(remaining, answer.RemainingNanos);
                if (!answer.Admitted) return new ChainWalk(passed, parents, scope, answer, remaining, crossed, null, null, Fences: fences);
                passed.Add(scope);
                fences.Add(new ScopeFence(scope, answer.Epoch));
                parents.Add(answer.Parent);
                crossed.AddRange(answer.CrossedThresholds);
                if (answer.Policy is not null) (policies ??= new(StringComparer.Ordinal))[scope] = answer.Policy;
                scope = answer.Parent;
            }
        }
        return new ChainWalk(passed, parents, "", null, remaining, crossed, null, policies, anyBudget, tenantMode, fences);

        ChainWalk Stop(Failure failure) => new(passed, parents, "", null, remaining, crossed, failure, null, Fences: fences);
    }
}
