namespace BudgetGrains.Grains.Storage;

/// <summary>A scope's durable counters (current period); calls, retries and depth are counted on task scopes.</summary>
public sealed record ScopeCounters(long SpentNanos, long HeldNanos, int OpenHolds, long Commits, long Denials,
    long Calls = 0, long Retries = 0, int DepthMaxSeen = 0)
{
    public static readonly ScopeCounters Zero = new(0, 0, 0, 0, 0);
}

/// <summary>An entry of the open-hold index, which is ordered by expiry then id.</summary>
public readonly record struct OpenHold(long ExpiresAtUnixMs, string ReservationId)
{
    public static readonly OpenHold First = new(long.MinValue, "");
}

/// <summary>The budget queries a store answers besides grain state.</summary>
public interface IBudgetStore
{
    /// <summary>Counters of a scope; zero when it never saw a request.</summary>
    Task<ScopeCounters> ReadCountersAsync(string scope, CancellationToken cancellationToken);

    /// <summary>Scopes that have a budget, starting with <paramref name="prefix"/>, after <paramref name="after"/>, in order.</summary>
    Task<IReadOnlyList<string>> ListBudgetScopesAsync(string prefix, string after, int limit, CancellationToken cancellationToken);

    /// <summary>Open holds (to re-arm their expiry after a restart) in expiry order, after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<OpenHold>> ListOpenHoldsAsync(OpenHold after, int limit, CancellationToken cancellationToken);

    /// <summary>Counters of every scope that has any.</summary>
    Task<IReadOnlyDictionary<string, ScopeCounters>> ReadAllCountersAsync(CancellationToken cancellationToken);

    /// <summary>Sum of ledger actuals per scope of the chains (the right side of I2).</summary>
    Task<IReadOnlyDictionary<string, long>> SumLedgerByScopeAsync(CancellationToken cancellationToken);
}
