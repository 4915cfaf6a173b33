using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Storage;

/// <summary>A scope's durable counters: its holds, and the counters of one period; calls, retries and depth are counted on task scopes.</summary>
public sealed record ScopeCounters(long SpentNanos, long HeldNanos, int OpenHolds, long Commits, long Denials,
    long Calls = 0, long Retries = 0, int DepthMaxSeen = 0)
{
    public static readonly ScopeCounters Zero = new(0, 0, 0, 0, 0);
}

/// <summary>An entry of the open-hold index, which is ordered by expiry then id; with the reservation's state where the
/// store keeps it there (<see cref="Journal.IJournalStore.KeepsOpenHoldStates"/>).</summary>
public readonly record struct OpenHold(long ExpiresAtUnixMs, string ReservationId, byte[]? State = null)
{
    public static readonly OpenHold First = new(long.MinValue, "");
}

/// <summary>The budget queries a store answers besides grain state.</summary>
public interface IBudgetStore
{
    /// <summary>A scope's holds and the counters of its period starting at <paramref name="periodStartUnixMs"/>; zero when it
    /// never saw a request.</summary>
    Task<ScopeCounters> ReadCountersAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken);

    /// <summary>Closed periods of a scope with their totals, newest first, starting before <paramref name="beforeStartUnixMs"/>.</summary>
    Task<IReadOnlyList<PeriodSummary>> ListClosedPeriodsAsync(string scope, long beforeStartUnixMs, int limit, CancellationToken cancellationToken);

    /// <summary>Totals of a scope's period (key "").</summary>
    Task<UsageRow> ReadPeriodTotalsAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken);

    /// <summary>Usage rows of a scope's period under one grouping, in descending spend then key, skipping <paramref name="offset"/>.</summary>
    Task<IReadOnlyList<UsageRow>> ReadUsageAsync(string scope, long periodStartUnixMs, string dimension, int offset, int limit, CancellationToken cancellationToken);

    /// <summary>Scopes that have a budget, starting with <paramref name="prefix"/>, after <paramref name="after"/>, in order.</summary>
    Task<IReadOnlyList<string>> ListBudgetScopesAsync(string prefix, string after, int limit, CancellationToken cancellationToken);

    /// <summary>Open holds (to re-arm their expiry after a restart) in expiry order, after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<OpenHold>> ListOpenHoldsAsync(OpenHold after, int limit, CancellationToken cancellationToken);

    /// <summary>Counters of every scope that has any, summed over all its periods.</summary>
    Task<IReadOnlyDictionary<string, ScopeCounters>> ReadAllCountersAsync(CancellationToken cancellationToken);

    /// <summary>Sum of ledger actuals per scope of the chains (the right side of I2), over all periods.</summary>
    Task<IReadOnlyDictionary<string, long>> SumLedgerByScopeAsync(CancellationToken cancellationToken);

    /// <summary>Spent per (scope, period start): from the period counters, and from the ledger (I2 per period).</summary>
    Task<IReadOnlyDictionary<(string Scope, long PeriodStartUnixMs), long>> SpentByPeriodAsync(CancellationToken cancellationToken);
    Task<IReadOnlyDictionary<(string Scope, long PeriodStartUnixMs), long>> SumLedgerByPeriodAsync(CancellationToken cancellationToken);
}
