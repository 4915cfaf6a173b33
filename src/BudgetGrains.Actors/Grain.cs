using System.Text.Json;

namespace BudgetGrains.Actors;

/// <summary>Base class of grains. Calls into one activation run one at a time (turns); no locks needed.</summary>
public abstract class Grain
{
    // Set by the runtime right after construction, before any turn of this grain runs.
    private Activation? _activation;

    /// <summary>This activation's id.</summary>
    public GrainId GrainId => Activation.Id;

    /// <summary>The key of this grain (GrainId.Key).</summary>
    protected string GrainKey => GrainId.Key;

    /// <summary>References to other grains.</summary>
    protected IGrainFactory GrainFactory => Activation.Runtime;

    /// <summary>The runtime's clock (a manual clock in tests).</summary>
    protected TimeProvider TimeProvider => Activation.Runtime.TimeProvider;

    internal Activation Activation =>
        _activation ?? throw new InvalidOperationException("This grain was not created by an ActorRuntime; grains are activated by the runtime, never constructed by callers.");

    /// <summary>Runs as the first turn of an activation, after the state is read.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs as the last turn of an activation.</summary>
    public virtual Task OnDeactivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A timer whose ticks run as turns of this activation. Period Timeout.InfiniteTimeSpan = fires once.
    /// keepAlive: while registered, the activation is not collected for idleness.</summary>
    protected IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, bool keepAlive = false)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return Activation.RegisterTimer(callback, dueTime, period, keepAlive);
    }

    /// <summary>Keeps this activation from idle collection until the returned handle is disposed
    /// (Orleans would use DelayDeactivation or a reminder). Explicit deactivation still happens.</summary>
    protected IDisposable KeepAlive() => Activation.AcquireKeepAlive();

    /// <summary>Deactivate this activation once the current turn ends.</summary>
    protected void DeactivateOnIdle() => Activation.DeactivateAfterCurrentTurn();

    /// <summary>
    /// Appends journal records without any grain state, for a grain whose durable data is the storage provider's own
    /// table (one row per item) rather than one state blob. Completes when durable; group-committed like state writes.
    /// </summary>
    protected Task AppendJournalAsync(IReadOnlyList<IJournalRecord> journal)
    {
        ArgumentNullException.ThrowIfNull(journal);
        return Activation.WriteAsync(new StateWrite(GrainId, null, journal));
    }

    internal void Attach(Activation activation) => _activation = activation;

    /// <summary>Whether the runtime must read state from storage before activating this grain.</summary>
    internal virtual bool HasPersistentState => false;

    internal virtual void LoadState(byte[]? data, JsonSerializerOptions options)
    {
    }
}
