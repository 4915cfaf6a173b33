using BudgetGrains.Actors;

namespace BudgetGrains.Grains.Storage;

// The durable effects of admission, written atomically with the reservation's state. Scope
// counters are never written as snapshots: each operation adds its deltas in the same
// transaction as the record that justifies them, so after any crash the stored counters equal
// the ledger sums and the open holds (DESIGN.md I2, I4).

/// <summary>Change to one scope's counters: additive, except <paramref name="DepthMaxSeen"/> which is a maximum.</summary>
public sealed record ScopeCounterDelta(
    string Scope,
    long SpentNanos = 0,
    long HeldNanos = 0,
    int OpenHolds = 0,
    long Commits = 0,
    long Denials = 0,
    long Calls = 0,
    long Retries = 0,
    int DepthMaxSeen = 0) : IJournalRecord;

/// <summary>One committed model call.</summary>
public sealed record LedgerEntry(
    string ReservationId,
    IReadOnlyList<string> Chain,
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
public sealed record HoldOpened(string ReservationId, long ExpiresAtUnixMs) : IJournalRecord;

/// <summary>A hold ended (committed, released or expired).</summary>
public sealed record HoldClosed(string ReservationId, long ExpiresAtUnixMs) : IJournalRecord;
