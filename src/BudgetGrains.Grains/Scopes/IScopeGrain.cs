using BudgetGrains.Actors;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Scopes;

/// <summary>What one scope of the chain says about an amount.</summary>
/// <param name="Parent">The scope's rollup parent ("" for none): the admission chain continues there.</param>
/// <param name="Failure">A limit of the scope itself (too many open holds); nothing was held.</param>
public sealed record ScopeAnswer(
    bool Admitted,
    DenyReason Reason,
    long RemainingNanos,
    string Parent,
    IReadOnlyList<string> CrossedThresholds,
    Failure? Failure = null);

/// <summary>
/// One scope ("team/search"): its budget and its running counters. Holds are escrow: a scope
/// never admits more than its own remaining, so no chain over-admits whatever the interleaving.
/// The grain's counters change in memory at once; the reservation that caused a change makes it
/// durable (as a counter delta in its own write) before it answers.
/// </summary>
public interface IScopeGrain : IGrain
{
    /// <summary>Hold <paramref name="amountNanos"/> if spent + held + amount &lt;= limit and not frozen.</summary>
    Task<ScopeAnswer> TryHoldAsync(long amountNanos);

    /// <summary>Would <paramref name="amountNanos"/> be admitted? No side effects.</summary>
    Task<ScopeAnswer> CheckAsync(long amountNanos);

    /// <summary>Remove a hold placed by <see cref="TryHoldAsync"/> (release, expiry, or undo of a hold that was not made durable).</summary>
    Task ReleaseHoldAsync(long amountNanos);

    /// <summary>Spend <paramref name="actualNanos"/>, removing the hold of <paramref name="heldNanos"/> when <paramref name="closesHold"/>.</summary>
    Task CommitAsync(long heldNanos, bool closesHold, long actualNanos);

    /// <summary>Undo a <see cref="CommitAsync"/> whose write could not be made durable.</summary>
    Task UndoCommitAsync(long heldNanos, bool closesHold, long actualNanos);

    /// <summary>Undo the denial counted by a <see cref="TryHoldAsync"/> whose answer could not be made durable.</summary>
    Task UndoDenialAsync();

    /// <summary>The budget and counters.</summary>
    Task<BudgetStatus> GetStatusAsync();

    /// <summary>Create or replace the budget; counters are kept.</summary>
    Task<BudgetStatus> SetBudgetAsync(BudgetSettings settings);
}
