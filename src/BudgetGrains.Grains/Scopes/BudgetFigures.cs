using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Settings;

namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// What the budget rule of one scope reads: its budget and its counters at one moment. The scope grain evaluates its
/// live figures; a check on the scope's silo evaluates the figures the grain last published (<see cref="ScopeView"/>).
/// Both go through <see cref="Evaluate"/>, so they cannot answer differently.
/// </summary>
internal readonly record struct BudgetFigures(
    string Scope, bool HasBudget, long LimitNanos, long SpentNanos, long HeldNanos, int OpenHolds, bool Frozen, string Parent,
    int[] ThresholdPercents, TaskPolicy? Policy, UnknownScopesMode UnknownScopes)
{
    private static readonly string[] NoThresholds = [];

    /// <summary>
    /// The admission rule of DESIGN.md §4 for the budget: not frozen, spent + held + amount &lt;= limit. Rate limits are
    /// the grain's (their buckets change with every admitted request); <see cref="WithBudgetFacts"/> completes the answer.
    /// </summary>
    public ScopeAnswer Evaluate(long amountNanos)
    {
        if (OpenHolds >= Limits.MaxOpenHoldsPerScope)
            return new ScopeAnswer(false, DenyReason.None, RemainingNanos(), Parent, NoThresholds,
                Failure.Exhausted($"scope {Scope} has {OpenHolds} open holds; the limit is {Limits.MaxOpenHoldsPerScope}"));
        if (Frozen)
            return new ScopeAnswer(false, DenyReason.Frozen, RemainingNanos(), Parent, NoThresholds);
        if (LimitNanos == 0)
            return new ScopeAnswer(true, DenyReason.None, Remaining.Unlimited, Parent, NoThresholds, Policy: Policy);

        // Int128: spent may exceed the limit after overage, and the sum must not wrap.
        Int128 committed = (Int128)SpentNanos + HeldNanos;
        if (committed + amountNanos > LimitNanos)
            return new ScopeAnswer(false, DenyReason.BudgetExhausted, RemainingNanos(), Parent, NoThresholds);
        return new ScopeAnswer(true, DenyReason.None, (long)(LimitNanos - committed - amountNanos), Parent,
            CrossedThresholds(committed, committed + amountNanos), Policy: Policy);
    }

    /// <summary>Marks a scope without a budget (closed mode denies a chain of such scopes) and a tenant's own setting.</summary>
    public ScopeAnswer WithBudgetFacts(ScopeAnswer answer) =>
        HasBudget && UnknownScopes == UnknownScopesMode.Unspecified
            ? answer
            : answer with { Unbudgeted = !HasBudget, UnknownScopes = UnknownScopes };

    /// <summary>What the budget has left before a call (0 once spent and held reach the limit).</summary>
    public long RemainingNanos()
    {
        if (LimitNanos == 0) return Remaining.Unlimited;
        var remaining = (Int128)LimitNanos - SpentNanos - HeldNanos;
        return remaining < 0 ? 0 : (long)remaining;
    }

    private IReadOnlyList<string> CrossedThresholds(Int128 before, Int128 after)
    {
        List<string>? crossed = null;
        foreach (var percent in ThresholdPercents)
        {
            var mark = (Int128)LimitNanos * percent / 100;
            if (before < mark && after >= mark) (crossed ??= []).Add($"{Scope}:{percent}");
        }
        return crossed ?? (IReadOnlyList<string>)NoThresholds;
    }
}

/// <summary>
/// A scope's <see cref="BudgetFigures"/> as of the end of the last call its activation answered, published on the
/// silo of that activation so a Check there answers without a grain call (docs/decisions/0051-checks-read-published-figures.md).
/// A scope publishes only while its check is its budget rule alone: no rate limit, no meter limit, no task guardrails,
/// no default budget still to apply.
/// </summary>
internal sealed class ScopeView(BudgetFigures figures, long epoch, long periodEndUnixMs)
{
    /// <summary>The activation that published it: only that activation withdraws it.</summary>
    public long Epoch => epoch;

    /// <summary>The answer the scope's CheckAsync gives at <paramref name="nowUnixMs"/>; null once the period is due to
    /// roll, which only the grain does (durably, before it answers).</summary>
    public ScopeAnswer? Check(long amountNanos, long nowUnixMs) =>
        periodEndUnixMs != 0 && nowUnixMs >= periodEndUnixMs ? null : figures.WithBudgetFacts(figures.Evaluate(amountNanos));
}
