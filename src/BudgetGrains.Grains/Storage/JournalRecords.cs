using BudgetGrains.Grains.Journal;

namespace BudgetGrains.Grains.Storage;

// The durable effects of admission, written atomically with the reservation's state. Scope
// counters are never written as snapshots: each operation adds its deltas in the same
// transaction as the record that justifies them, so after any crash the stored counters equal
// the ledger sums and the open holds (DESIGN.md I2, I4).

/// <summary>
/// Change to one scope's counters: additive, except <paramref name="DepthMaxSeen"/> which is a maximum. Held nanos and
/// open holds belong to the scope (holds carry over period boundaries); the other counters to the period starting at
/// <paramref name="PeriodStartUnixMs"/>, the scope's current period when it counted the change.
/// </summary>
public sealed record ScopeCounterDelta(
    string Scope,
    long PeriodStartUnixMs = 0,
    long SpentNanos = 0,
    long HeldNanos = 0,
    int OpenHolds = 0,
    long Commits = 0,
    long Denials = 0,
    long Calls = 0,
    long Retries = 0,
    int DepthMaxSeen = 0,
    long InputTokens = 0,
    long CachedInputTokens = 0,
    long OutputTokens = 0,
    long ReasoningTokens = 0) : IJournalRecord
{
    /// <summary>True when only the hold counters change (nothing to add to a period).</summary>
    public bool HoldsOnly => SpentNanos == 0 && Commits == 0 && Denials == 0 && Calls == 0 && Retries == 0 && DepthMaxSeen == 0
        && InputTokens == 0 && CachedInputTokens == 0 && OutputTokens == 0 && ReasoningTokens == 0;
}

/// <summary>
/// Spend of one commit under one key of a usage grouping of a scope's period: the child scope it came through, the
/// model, the outcome, or a label. Summed per batch like counters, so a usage report reads a few rows, not the ledger.
/// </summary>
public sealed record UsageDelta(
    string Scope,
    long PeriodStartUnixMs,
    string Dimension,
    string Key,
    long SpentNanos,
    long Commits,
    long InputTokens,
    long CachedInputTokens,
    long OutputTokens,
    long ReasoningTokens) : IJournalRecord;

/// <summary>A scope's period closed (at a calendar boundary, or by an explicit reset): kept as history.</summary>
public sealed record PeriodClosed(
    string Scope,
    BudgetGrains.Grains.Scopes.BudgetPeriod Period,
    long StartUnixMs,
    long EndUnixMs,
    long LimitNanos,
    string Currency,
    bool Reset) : IJournalRecord;

/// <summary>One committed model call. <paramref name="Periods"/> has, for each scope of the chain, the start of the
/// period the scope counted the spend in.</summary>
public sealed record LedgerEntry(
    string ReservationId,
    IReadOnlyList<string> Chain,
    IReadOnlyList<long> Periods,
    IReadOnlyDictionary<string, string> Labels,
    long EstimateNanos,
    long ActualNanos,
    string Model,
    long InputTokens,
    long CachedInputTokens,
    long OutputTokens,
    long ReasoningTokens,
    string Outcome,
    bool Late,
    bool Overage,
    long ReservedAtUnixMs,
    long CommittedAtUnixMs) : IJournalRecord;

/// <summary>A hold was admitted: index it so its expiry is re-armed after a restart. The index is ordered by
/// expiry, so new holds append at its end instead of dirtying a random page each.</summary>
/// <param name="State">The reservation's stored state, for a backend that keeps the state of an open hold in this index
/// rather than under the reservation's key (<see cref="Journal.IJournalStore.KeepsOpenHoldStates"/>); null otherwise.</param>
public sealed record HoldOpened(string ReservationId, long ExpiresAtUnixMs, byte[]? State = null) : IJournalRecord;

/// <summary>A hold ended (committed, released or expired).</summary>
public sealed record HoldClosed(string ReservationId, long ExpiresAtUnixMs) : IJournalRecord;
