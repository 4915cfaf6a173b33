namespace BudgetGrains.Load;

/// <summary>A scope's durable counters, as the store has them.</summary>
public sealed record DurableScope(long SpentNanos, long HeldNanos, int OpenHolds)
{
    public static readonly DurableScope Zero = new(0, 0, 0);
}

/// <summary>
/// The silo's store, read directly: only a silo in the same process offers it. Over gRPC the checks can only
/// compare live counters with what the callers were charged.
/// </summary>
public interface IDurableCounters
{
    Task<IReadOnlyDictionary<string, DurableScope>> ReadAllCountersAsync();

    /// <summary>Sum of ledger actuals per scope (the right side of I2).</summary>
    Task<IReadOnlyDictionary<string, long>> SumLedgerByScopeAsync();
}

/// <summary>Runtime counters of a silo in the same process, sampled when measurement starts and ends.</summary>
public readonly record struct SiloSample(long GroupCommitBatches, long GroupCommitWrites);

/// <summary>What a run can see of the silo besides its gRPC surface; everything null for a silo elsewhere.</summary>
public sealed record SiloView(string Kind, IDurableCounters? Store = null, Func<SiloSample>? Sample = null, IReadOnlyList<int>? ProcessIds = null);
