// PUBLIC API SURFACE of the grain runtime. The bodies are placeholders: the runtime
// implementation replaces this file (split into one file per type) without changing signatures.
namespace BudgetGrains.Actors;

/// <summary>Identifies a grain: its type name (from <see cref="GrainTypeAttribute"/>) and a string key.</summary>
public readonly record struct GrainId(string Type, string Key)
{
    public override string ToString() => $"{Type}/{Key}";
}

/// <summary>Marker for grain interfaces. Their methods return Task or Task&lt;T&gt; and end in Async.</summary>
public interface IGrain;

/// <summary>Names a grain class's type (used in ids and storage), e.g. [GrainType("scope")].</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Hands out location-transparent grain references. Callers never construct grains.</summary>
public interface IGrainFactory
{
    TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrain;
}

/// <summary>A record appended atomically with a grain's state write; its meaning is given by the storage provider.</summary>
public interface IJournalRecord;

/// <summary>One grain's write inside a group-commit batch. State null: journal only, state unchanged.</summary>
public sealed record StateWrite(GrainId Grain, byte[]? State, IReadOnlyList<IJournalRecord> Journal);

/// <summary>Durable store for grain state.</summary>
public interface IGrainStorage
{
    /// <summary>The last written state of a grain, or null if none was ever written.</summary>
    Task<byte[]?> ReadStateAsync(GrainId grain, CancellationToken cancellationToken);

    /// <summary>Writes a whole batch in one durable transaction: all of it or none of it, durable when the task completes.</summary>
    Task WriteBatchAsync(IReadOnlyList<StateWrite> batch, CancellationToken cancellationToken);
}

/// <summary>Thrown to callers whose write could not be made durable (the batch failed).</summary>
public sealed class StorageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Thrown when an activation's mailbox or the activation table is full.</summary>
public sealed class GrainOverloadedException(string message) : Exception(message);

/// <summary>Base class of grains. Calls into one activation run one at a time (turns); no locks needed.</summary>
public abstract class Grain
{
    /// <summary>This activation's id.</summary>
    public GrainId GrainId => throw new NotImplementedException();

    /// <summary>The key of this grain (GrainId.Key).</summary>
    protected string GrainKey => GrainId.Key;

    /// <summary>References to other grains.</summary>
    protected IGrainFactory GrainFactory => throw new NotImplementedException();

    /// <summary>The runtime's clock (a manual clock in tests).</summary>
    protected TimeProvider TimeProvider => throw new NotImplementedException();

    /// <summary>Runs as the first turn of an activation, after the state is read.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs as the last turn of an activation.</summary>
    public virtual Task OnDeactivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A timer whose ticks run as turns of this activation. Period Timeout.InfiniteTimeSpan = fires once.
    /// keepAlive: while registered, the activation is not collected for idleness.</summary>
    protected IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, bool keepAlive = false)
        => throw new NotImplementedException();

    /// <summary>Deactivate this activation once the current turn ends.</summary>
    protected void DeactivateOnIdle() => throw new NotImplementedException();
}

/// <summary>A grain with persistent state, read on activation and written when the grain asks.</summary>
public abstract class Grain<TState> : Grain where TState : class, new()
{
    /// <summary>The state; a new TState when none was stored.</summary>
    protected TState State { get; set; } = new();

    /// <summary>True when state was read from storage or written by this activation.</summary>
    protected bool RecordExists => throw new NotImplementedException();

    /// <summary>Writes State; completes when durable. Group-committed with other grains' writes.</summary>
    protected Task WriteStateAsync() => throw new NotImplementedException();

    /// <summary>Writes State and appends journal records in the same durable transaction.</summary>
    protected Task WriteStateAsync(IReadOnlyList<IJournalRecord> journal) => throw new NotImplementedException();
}
