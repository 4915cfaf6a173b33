using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Meters;

namespace BudgetGrains.Grains.Scopes;

/// <summary>What one scope of the chain says about an amount.</summary>
/// <param name="Parent">The scope's rollup parent ("" for none): the admission chain continues there.</param>
/// <param name="Failure">A limit of the scope itself (too many open holds); nothing was held.</param>
/// <param name="PeriodStartUnixMs">Denials and task calls: the period the scope counted them in (the reservation writes them there).</param>
/// <param name="Unbudgeted">The scope has no budget (closed mode denies a chain of such scopes); false, the common case, allocates nothing more.</param>
/// <param name="UnknownScopes">Tenant scopes: the tenant's own UnknownScopes setting.</param>
/// <param name="FirstTaskCall">Task scopes: the first call the task admitted in this period (the reserve records the task's start).</param>
/// <param name="DeniedMeter">Denied METER_LIMIT: the limited meter the call's estimate did not fit, and what is left of it.</param>
[GenerateSerializer, Immutable]
public sealed record ScopeAnswer(
    bool Admitted,
    DenyReason Reason,
    long RemainingNanos,
    string Parent,
    IReadOnlyList<string> CrossedThresholds,
    Failure? Failure = null,
    TaskPolicy? Policy = null,
    long RetryAfterMs = 0,
    long PeriodStartUnixMs = 0,
    bool Unbudgeted = false,
    Settings.UnknownScopesMode UnknownScopes = Settings.UnknownScopesMode.Unspecified,
    long Epoch = 0,
    bool FirstTaskCall = false,
    string DeniedMeter = "",
    long RemainingMeterQuantity = 0);

/// <summary>What a scope did with a commit: the period it counted the spend in, and the alerts the spend raised.</summary>
[GenerateSerializer, Immutable]
public sealed record ScopeCommitted(long PeriodStartUnixMs, IReadOnlyList<Alerts.AlertCandidate>? Alerts, long Epoch = 0);

/// <summary>
/// One scope ("team/search"): its budget and its running counters. Holds are escrow: a scope
/// never admits more than its own remaining, so no chain over-admits whatever the interleaving.
/// The grain's counters change in memory at once; the reservation that caused a change makes it
/// durable (as a counter delta in its own write) before it answers.
/// </summary>
/// <remarks>The meter lists are [Immutable]: the callers pass lists they never change (a command's, a reservation state's),
/// so a call passes a reference rather than a copy, and a call without meters costs nothing for them.</remarks>
public interface IScopeGrain : IGrainWithStringKey
{
    /// <summary>Hold <paramref name="amountNanos"/> if not frozen, spent + held + amount &lt;= limit, used + held + estimate
    /// &lt;= max for each meter limit <paramref name="meters"/> names, and the scope's rate limits have room for one more
    /// request and <paramref name="tokens"/> (which they then count). <paramref name="meters"/> (the call's meter
    /// estimates, empty for most calls) are held with the money.</summary>
    Task<ScopeAnswer> TryHoldAsync(long amountNanos, long tokens, [Immutable] IReadOnlyList<MeterQuantity> meters);

    /// <summary>Would <paramref name="amountNanos"/> and <paramref name="meters"/> be admitted? No side effects.</summary>
    Task<ScopeAnswer> CheckAsync(long amountNanos, long tokens, [Immutable] IReadOnlyList<MeterQuantity> meters);

    /// <summary>Remove a hold placed by <see cref="TryHoldAsync"/> when the reservation is released or expires. The release
    /// is durable already, written fenced with <paramref name="epoch"/>: an activation of another epoch claimed the scope
    /// after that write, so the counters it read have the release, and it ignores this one.</summary>
    Task ReleaseHoldAsync(string reservationId, long amountNanos, long epoch, [Immutable] IReadOnlyList<MeterQuantity> meters);

    /// <summary>Reverse a <see cref="TryHoldAsync"/> whose request was not admitted after all (a later scope denied, or
    /// the write failed): the hold goes, and so does what it counted against the rate limits.</summary>
    /// <paramref name="epoch"/>: the activation that held it (its answer's); another activation never counted it and ignores the undo.
    Task UndoHoldAsync(string reservationId, long amountNanos, long tokens, long epoch, [Immutable] IReadOnlyList<MeterQuantity> meters);

    /// <summary>Spend <paramref name="actualNanos"/> and count <paramref name="actualMeters"/> as used, removing the hold of
    /// <paramref name="heldNanos"/> and <paramref name="heldMeters"/> when <paramref name="closesHold"/>.</summary>
    Task<ScopeCommitted> CommitAsync(string reservationId, long heldNanos, bool closesHold, long actualNanos,
        [Immutable] IReadOnlyList<MeterQuantity> heldMeters, [Immutable] IReadOnlyList<MeterQuantity> actualMeters);

    /// <summary>Undo a <see cref="CommitAsync"/> whose write could not be made durable.</summary>
    Task UndoCommitAsync(string reservationId, long heldNanos, bool closesHold, long actualNanos, long periodStartUnixMs, long epoch,
        [Immutable] IReadOnlyList<MeterQuantity> heldMeters, [Immutable] IReadOnlyList<MeterQuantity> actualMeters);

    /// <summary>The store refused a write fenced with <paramref name="epoch"/>: if that is this activation's, another silo
    /// holds the scope now and this activation deactivates (its callers' retries reach the live one).</summary>
    Task FencedOutAsync(long epoch);

    /// <summary>
    /// Task scopes, after the chain held the estimate: admit the call under the task's guardrails (its own policy
    /// over the inherited one) and count it, or deny. The hold itself was placed by <see cref="TryHoldAsync"/>.
    /// </summary>
    Task<ScopeAnswer> AdmitTaskCallAsync(TaskCall call);

    /// <summary>Would <see cref="AdmitTaskCallAsync"/> admit? No side effects.</summary>
    Task<ScopeAnswer> CheckTaskCallAsync(TaskCall call);

    /// <summary>Undo an <see cref="AdmitTaskCallAsync"/> whose reservation could not be made durable.</summary>
    Task UndoTaskCallAsync(TaskCall call, long periodStartUnixMs);

    /// <summary>A reservation reactivated with an open hold (after a restart) reports it: loads the scope before the
    /// reservation can write, and lets a task scope release it when the task is ended. Returns this activation's epoch:
    /// the reservation's release is written fenced with it.</summary>
    Task<long> TrackOpenHoldAsync(string reservationId);

    /// <summary>Replace the scope's task guardrails.</summary>
    Task<TaskPolicy> SetTaskPolicyAsync(TaskPolicy policy);

    /// <summary>The scope's task guardrails (empty when none).</summary>
    Task<TaskPolicy> GetTaskPolicyAsync();

    /// <summary>Task scopes: deny everything from now on and record <paramref name="outcome"/> ("" = the recorded one, or
    /// "ended"); returns the reservations still holding here, to release.</summary>
    Task<TaskEnd> EndTaskAsync(string outcome);

    /// <summary>Task scopes: make the task a job with a pre-run estimate and a cap (the limit of its budget); null when done
    /// (or done before with the same values), else why not.</summary>
    Task<string?> StartJobAsync(JobStart start);

    /// <summary>Undo the denial counted by a <see cref="TryHoldAsync"/> whose answer could not be made durable.</summary>
    Task UndoDenialAsync(long periodStartUnixMs);

    /// <summary>The budget and counters.</summary>
    Task<BudgetStatus> GetStatusAsync();

    /// <summary>Change the fields the update names (a scope without a budget starts from its kind's default budget,
    /// else the built-in one); counters are kept.</summary>
    Task<BudgetStatus> SetBudgetAsync(BudgetUpdate update);

    /// <summary>Tenant scopes: set the tenant's own UnknownScopes setting (unspecified removes it).</summary>
    Task<Settings.UnknownScopesMode> SetUnknownScopesAsync(Settings.UnknownScopesMode mode);

    /// <summary>Tenant scopes: the tenant's own UnknownScopes setting.</summary>
    Task<Settings.UnknownScopesMode> GetUnknownScopesAsync();

    /// <summary>Remove the budget (counters and history stay); false when there was none.</summary>
    Task<bool> DeleteBudgetAsync();

    /// <summary>Kill switch on or off; a scope without a budget gets one with no limit.</summary>
    Task<BudgetStatus> SetFrozenAsync(bool frozen);

    /// <summary>Close the current period now (history) and start a new one from zero; open holds stay.</summary>
    Task<BudgetStatus> ResetPeriodAsync();
}
