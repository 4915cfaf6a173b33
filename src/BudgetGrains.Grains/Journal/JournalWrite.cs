namespace BudgetGrains.Grains.Journal;

/// <summary>Names the durable state of one grain: its grain type name and its key.</summary>
public readonly record struct StateKey(string GrainType, string Key)
{
    /// <summary>"type/key", as it appears in logs.</summary>
    public override string ToString() => $"{GrainType}/{Key}";
}

/// <summary>One grain's write inside a group-commit batch: its state (null: unchanged) and the records that go with it,
/// durable together or not at all.</summary>
public sealed record JournalWrite(StateKey Grain, byte[]? State, IReadOnlyList<IJournalRecord> Records);

/// <summary>Thrown to callers whose write could not be made durable (the batch failed, or the journal has stopped).</summary>
public sealed class StorageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
