using System.Text.Json;

namespace BudgetGrains.Actors;

/// <summary>A grain with persistent state, read on activation and written when the grain asks.</summary>
public abstract class Grain<TState> : Grain where TState : class, new()
{
    private bool _recordExists;

    /// <summary>The state; a new TState when none was stored.</summary>
    protected TState State { get; set; } = new();

    /// <summary>True when state was read from storage or written by this activation.</summary>
    protected bool RecordExists => _recordExists;

    /// <summary>Writes State; completes when durable. Group-committed with other grains' writes.</summary>
    protected Task WriteStateAsync() => WriteStateAsync([]);

    /// <summary>Writes State and appends journal records in the same durable transaction.</summary>
    protected Task WriteStateAsync(IReadOnlyList<IJournalRecord> journal)
    {
        ArgumentNullException.ThrowIfNull(journal);
        var activation = Activation;
        // Serialized now, inside the turn, so later mutations of State cannot leak into this write.
        byte[] data = JsonSerializer.SerializeToUtf8Bytes(State, activation.Runtime.Options.StateSerializerOptions);
        _recordExists = true;
        return activation.WriteAsync(new StateWrite(GrainId, data, journal));
    }

    internal override bool HasPersistentState => true;

    internal override void LoadState(byte[]? data, JsonSerializerOptions options)
    {
        if (data is null)
        {
            return;
        }
        State = JsonSerializer.Deserialize<TState>(data, options)
            ?? throw new InvalidOperationException($"Stored state of {GrainId} deserialized to null.");
        _recordExists = true;
    }
}
