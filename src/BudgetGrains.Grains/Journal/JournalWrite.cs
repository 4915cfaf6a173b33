namespace BudgetGrains.Grains.Journal;

/// <summary>Names the durable state of one grain: its grain type name and its key.</summary>
public readonly record struct StateKey(string GrainType, string Key)
{
    /// <summary>"type/key", as it appears in logs.</summary>
    public override string ToString() => $"{GrainType}/{Key}";
}

/// <summary>One grain's write inside a group-commit batch: its state (null: unchanged) and the records that go with it,
/// durable together or not at all.</summary>
/// <param name="Fences">The epochs of the scope activations whose in-memory decisions this write makes durable
/// (DESIGN.md §7); a store shared by several silos refuses the whole write when one of them is no longer current.</param>
public sealed record JournalWrite(StateKey Grain, byte[]? State, IReadOnlyList<IJournalRecord> Records, IReadOnlyList<ScopeFence>? Fences = null);

/// <summary>The epoch a scope activation claimed in the store when it activated (docs/decisions/0028-fencing.md).</summary>
[GenerateSerializer, Immutable]
public readonly record struct ScopeFence([property: Id(0)] string Scope, [property: Id(1)] long Epoch);

/// <summary>Thrown to callers whose write could not be made durable (the batch failed, or the journal has stopped).</summary>
/// <param name="fenced">The store refused the write because an activation that admitted it is no longer the current one
/// (another silo activated the scope since): the caller's retry reaches the live activation.</param>
public sealed class StorageUnavailableException(string message, Exception? inner = null, bool fenced = false) : Exception(message, inner)
{
    /// <summary>True when the write was refused for a stale epoch, not lost to a failing store.</summary>
    public bool Fenced { get; } = fenced;
}
