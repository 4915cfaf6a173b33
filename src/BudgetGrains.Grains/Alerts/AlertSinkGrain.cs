using BudgetGrains.Grains.Journal;
using Microsoft.Extensions.Logging;
using BudgetGrains.Grains.Telemetry;

namespace BudgetGrains.Grains.Alerts;

/// <summary>What a delivery pass left: whether more is due at once, and when the next retry is due (0: none pending).</summary>
[GenerateSerializer, Immutable]
public sealed record DeliveryPass(bool MoreNow, long NextAttemptUnixMs)
{
    public static readonly DeliveryPass Idle = new(false, 0);
}

/// <summary>
/// The outbox of one sink (key: the sink's name). Its state is a cursor: the id of the last alert it queued. A pass
/// queues the alerts fired since (a pending delivery each, written with the cursor in one transaction), then attempts
/// the deliveries that are due. An outcome is written after the receiver answered, so a crash in between delivers
/// again after the restart: at least once. One activation per sink means one pass at a time, on one silo.
/// </summary>
public interface IAlertSinkGrain : IGrainWithStringKey
{
    /// <summary>Activates the outbox; a sink seen for the first time starts after the newest alert (no backlog of history).</summary>
    Task OpenAsync();

    /// <summary>One pass: queue new alerts, then attempt each due delivery once.</summary>
    Task<DeliveryPass> DeliverAsync();
}

/// <summary>The persistent state of <see cref="IAlertSinkGrain"/>.</summary>
public sealed class AlertSinkState
{
    /// <summary>The last alert this sink queued (or skipped for its scope filter).</summary>
    public long CursorId { get; set; }
}

/// <summary>See <see cref="IAlertSinkGrain"/>.</summary>
[GrainType(AlertGrainTypes.Sink)]
internal sealed class AlertSinkGrain(IAlertStore store, AlertSinks sinks, JournalService journal, TimeProvider clock, ILogger<AlertSinkGrain> logger)
    : Grain, IAlertSinkGrain
{
    private DurableState<AlertSinkState> _state = null!;

    private string GrainKey { get; set; } = "";

    private AlertSinkState State => _state.Value;

    /// <summary>Set while the queue is full, so that the warning is logged once per episode, not once per pass.</summary>
    private bool _full;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        GrainKey = this.GetPrimaryKeyString();
        _state = new DurableState<AlertSinkState>(journal, new StateKey(AlertGrainTypes.Sink, GrainKey), AlertStateJsonContext.Default.AlertSinkState);
        await _state.ReadAsync(cancellationToken);
        if (!_state.RecordExists)
        {
            State.CursorId = await store.LatestIdAsync(cancellationToken);
            await _state.WriteAsync();
        }
        // In a cluster, which silo delivers for this sink (the outbox moves to a survivor when its silo dies).
        logger.LogDebug("Alert sink {Sink} outbox activated at cursor {Cursor}", GrainKey, State.CursorId);
    }

    public Task OpenAsync() => Task.CompletedTask;

    public async Task<DeliveryPass> DeliverAsync()
    {
        if (sinks.Find(GrainKey) is not { } sink) return DeliveryPass.Idle;
        var more = await QueueNewAlertsAsync(sink);
        var due = await store.DueDeliveriesAsync(GrainKey, NowUnixMs(), Limits.MaxAlertsPerDeliveryBatch, CancellationToken.None);
        foreach (var (alert, delivery) in due)
        {
            if (sinks.Stopping.IsCancellationRequested) return DeliveryPass.Idle;
            await AttemptAsync(sink, alert, delivery);
        }
        var queue = await store.ReadQueueAsync(GrainKey, CancellationToken.None);
        return new DeliveryPass(more || due.Count == Limits.MaxAlertsPerDeliveryBatch, queue.NextAttemptUnixMs);
    }

    /// <summary>Moves the cursor over the alerts fired since the last pass, queuing those the sink takes. A full queue
    /// leaves them in the alert table (durable already) until deliveries drain it. True when more are waiting.</summary>
    private async Task<bool> QueueNewAlertsAsync(IAlertSink sink)
    {
        var queue = await store.ReadQueueAsync(GrainKey, CancellationToken.None);
        var room = Limits.MaxPendingDeliveriesPerSink - queue.Pending;
        if (room <= 0)
        {
            if (!_full)
                logger.LogWarning("Alert sink {Sink} has {Pending} deliveries pending, its limit: newer alerts wait until they drain", GrainKey, queue.Pending);
            _full = true;
            return false;
        }
        _full = false;
        var take = Math.Min(room, Limits.MaxAlertsPerDeliveryBatch);
        var fresh = await store.ListAfterAsync(State.CursorId, "", take, CancellationToken.None);
        if (fresh.Count == 0) return false;
        var now = NowUnixMs();
        var queued = fresh.Where(a => sink.Accepts(a.Alert.Scope))
            .Select(a => (IJournalRecord)new AlertDeliveryRecorded(a.Id, new AlertDelivery(GrainKey, DeliveryState.Pending, 0, now, now, "")))
            .ToList();
        var previous = State.CursorId;
        State.CursorId = fresh[^1].Id;
        try
        {
            await _state.WriteAsync(queued);
        }
        catch (StorageUnavailableException)
        {
            State.CursorId = previous;
            throw;
        }
        return fresh.Count == take;
    }

    private async Task AttemptAsync(IAlertSink sink, StoredAlert alert, AlertDelivery delivery)
    {
        string? error = null;
        try
        {
            await sink.DeliverAsync(alert, sinks.Stopping);
        }
        catch (OperationCanceledException) when (sinks.Stopping.IsCancellationRequested)
        {
            // The silo is stopping: not the receiver's failure, so not counted; it is attempted again after the restart.
            return;
        }
        catch (Exception e)
        {
            error = e.Message.Length <= Limits.MaxDeliveryErrorLength ? e.Message : e.Message[..Limits.MaxDeliveryErrorLength];
        }

        var now = NowUnixMs();
        var attempts = delivery.Attempts + 1;
        var policy = sinks.Policy;
        var outcome = delivery with { Attempts = attempts, UpdatedAtUnixMs = now, LastError = error ?? "", NextAttemptUnixMs = 0 };
        if (error is null)
        {
            outcome = outcome with { State = DeliveryState.Delivered };
        }
        else if (policy.GivesUp(attempts, now - alert.Alert.FiredAtUnixMs))
        {
            outcome = outcome with { State = DeliveryState.Failed };
            logger.LogWarning("Alert {AlertId} ({Scope}) was not delivered to {Sink} after {Attempts} attempts; giving up: {Error}",
                alert.Id, alert.Alert.Scope, GrainKey, attempts, error);
        }
        else
        {
            outcome = outcome with { NextAttemptUnixMs = now + (long)policy.DelayAfter(attempts, Random.Shared.NextDouble()).TotalMilliseconds };
        }
        await journal.AppendAsync(new JournalWrite(new StateKey(AlertGrainTypes.Sink, GrainKey), null, [new AlertDeliveryRecorded(alert.Id, outcome)]));
        BudgetMeters.AlertDelivery(GrainKey, outcome.State switch { DeliveryState.Delivered => "delivered", DeliveryState.Failed => "failed", _ => "retrying" });
    }

    private long NowUnixMs() => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
