using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Actors;

/// <summary>
/// One live grain: its mailbox and turn loop. The mailbox is a queue under a short lock together with the
/// "scheduled" and "dead" flags, so enqueueing and dying are atomic with respect to each other: a call either
/// lands in a live mailbox (and runs, or is re-dispatched when the activation dies before reaching it) or is
/// told the activation is dead and goes to the next activation. Only the loop runs turns, one at a time.
/// </summary>
internal sealed class Activation : IThreadPoolWorkItem
{
    private readonly ActorRuntime _runtime;
    private readonly GrainRegistration _registration;
    private readonly object _lock = new();
    private readonly Queue<ITurn> _queue = new();
    private readonly List<GrainTimer> _timers = [];
    private readonly Action _onAsyncTurnCompleted;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _scheduled;
    private bool _dead;
    // Touched by the turn loop only, or by the collector under _lock while no loop is scheduled.
    private bool _deactivateAfterTurn;
    private bool _activated;
    private bool _deactivating;
    private long _turnStartTimestamp;
    private long _lastTurnEndUtcTicks;
    private int _keepAlives;
    private Task _lastWrite = Task.CompletedTask;
    private Grain? _grain;

    public Activation(ActorRuntime runtime, GrainId id, GrainRegistration registration)
    {
        _runtime = runtime;
        _registration = registration;
        Id = id;
        _onAsyncTurnCompleted = OnAsyncTurnCompleted;
        _lastTurnEndUtcTicks = runtime.TimeProvider.GetUtcNow().UtcTicks;
    }

    public GrainId Id { get; }

    public ActorRuntime Runtime => _runtime;

    /// <summary>The grain instance; set before any call turn runs.</summary>
    public Grain Grain => _grain!;

    /// <summary>Completes when the activation is dead and out of the directory.</summary>
    public Task Completion => _completion.Task;

    public EnqueueResult TryEnqueue(ITurn turn)
    {
        bool schedule;
        lock (_lock)
        {
            if (_dead)
            {
                return EnqueueResult.Dead;
            }
            if (turn.IsCall && _queue.Count >= _runtime.Options.MaxMailboxLength)
            {
                return EnqueueResult.Full;
            }
            _queue.Enqueue(turn);
            _runtime.Counters.MessageQueued();
            schedule = !_scheduled;
            _scheduled = true;
        }
        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        return EnqueueResult.Enqueued;
    }

    /// <summary>Deactivation after everything queued so far (used at shutdown).</summary>
    public void RequestDeactivation() => TryEnqueue(LifecycleTurn.Deactivate);

    /// <summary>Starts deactivation if the activation has been idle for its type's timeout; false when it is busy.</summary>
    public bool TryCollect(long nowUtcTicks)
    {
        if (Volatile.Read(ref _keepAlives) > 0
            || nowUtcTicks - Volatile.Read(ref _lastTurnEndUtcTicks) < _registration.IdleTimeout.Ticks)
        {
            return false;
        }
        lock (_lock)
        {
            // Scheduled means a turn is running or about to: not idle.
            if (_dead || _scheduled || _queue.Count > 0)
            {
                return false;
            }
            _scheduled = true;
            _deactivateAfterTurn = true;
        }
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        return true;
    }

    public void DeactivateAfterCurrentTurn() => _deactivateAfterTurn = true;

    public Task WriteAsync(StateWrite write)
    {
        var task = _runtime.Writer.Enqueue(write);
        // Writes are applied in issue order, so the last one durable means all of this grain's are.
        _lastWrite = task;
        return task;
    }

    public void Execute() => RunTurns();

    private void RunTurns()
    {
        while (true)
        {
            ITurn? turn = NextTurn();
            if (turn is null)
            {
                return;
            }
            _turnStartTimestamp = Stopwatch.GetTimestamp();
            Task done = turn.Run(this);
            if (!done.IsCompleted)
            {
                // The turn awaits: the loop resumes when it ends, never before (non-reentrant turns).
                done.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onAsyncTurnCompleted);
                return;
            }
            if (!EndTurn())
            {
                return;
            }
        }
    }

    private void OnAsyncTurnCompleted()
    {
        if (EndTurn())
        {
            RunTurns();
        }
    }

    private ITurn? NextTurn()
    {
        if (!_activated)
        {
            _activated = true;
            return LifecycleTurn.Activate;
        }
        if (_deactivateAfterTurn)
        {
            _deactivateAfterTurn = false;
            return LifecycleTurn.Deactivate;
        }
        lock (_lock)
        {
            if (_queue.Count == 0)
            {
                _scheduled = false;
                return null;
            }
            _runtime.Counters.MessageDequeued(1);
            return _queue.Dequeue();
        }
    }

    /// <returns>False when the activation died in this turn and the loop must stop.</returns>
    private bool EndTurn()
    {
        // Idle time first: a caller that sees the turn counted also sees the activation's idle clock restarted.
        Volatile.Write(ref _lastTurnEndUtcTicks, _runtime.TimeProvider.GetUtcNow().UtcTicks);
        _runtime.Counters.TurnCompleted(_turnStartTimestamp);
        return !_dead;
    }

    public async Task ActivateAsync()
    {
        try
        {
            var grain = (Grain)_registration.CreateGrain(_runtime.Services, null);
            grain.Attach(this);
            if (grain.HasPersistentState)
            {
                byte[]? data;
                try
                {
                    data = await _runtime.Storage.ReadStateAsync(Id, _runtime.AbortToken).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    throw new StorageUnavailableException($"Could not read the state of {Id}: {e.Message}", e);
                }
                grain.LoadState(data, _runtime.Options.StateSerializerOptions);
            }
            _grain = grain;
            await grain.OnActivateAsync(_runtime.AbortToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _runtime.Logger.LogError(e, "Activation of {GrainId} failed; its queued calls fail with the same error", Id);
            DisposeTimers();
            Die(e);
        }
    }

    public async Task DeactivateAsync()
    {
        if (_deactivating)
        {
            return;
        }
        _deactivating = true;
        DisposeTimers();
        try
        {
            await Grain.OnDeactivateAsync(_runtime.AbortToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _runtime.Logger.LogError(e, "OnDeactivateAsync of {GrainId} threw; deactivating anyway", Id);
        }
        try
        {
            // The next activation reads state from storage, so it must see every write this one issued.
            await _lastWrite.ConfigureAwait(false);
        }
        catch (StorageUnavailableException)
        {
            // Already reported to the turn that issued the write; nothing newer is durable either way.
        }
        Die(null);
    }

    /// <summary>Leaves the directory, then marks the mailbox dead and hands queued calls on (or fails them).</summary>
    private void Die(Exception? activationFailure)
    {
        _runtime.RemoveActivation(this);
        ITurn[] orphans;
        lock (_lock)
        {
            _dead = true;
            orphans = [.. _queue];
            _queue.Clear();
            _runtime.Counters.MessageDequeued(orphans.Length);
        }
        foreach (var turn in orphans)
        {
            if (!turn.IsCall)
            {
                continue;
            }
            if (activationFailure is null)
            {
                _runtime.Dispatch(Id, _registration, turn);
            }
            else
            {
                turn.Fail(activationFailure);
            }
        }
        _completion.TrySetResult();
    }

    public IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, bool keepAlive)
    {
        if (_deactivating)
        {
            throw new InvalidOperationException($"{Id} is deactivating; timers cannot be registered.");
        }
        var timer = new GrainTimer(this, callback, keepAlive, period == Timeout.InfiniteTimeSpan);
        lock (_timers)
        {
            if (_timers.Count >= _runtime.Options.MaxTimersPerActivation)
            {
                throw new InvalidOperationException(
                    $"{Id} already has {_timers.Count} timers (MaxTimersPerActivation); dispose timers it no longer needs.");
            }
            _timers.Add(timer);
        }
        if (keepAlive)
        {
            Interlocked.Increment(ref _keepAlives);
        }
        timer.Start(dueTime, period);
        return timer;
    }

    public void RemoveTimer(GrainTimer timer)
    {
        lock (_timers)
        {
            _timers.Remove(timer);
        }
        if (timer.KeepAlive)
        {
            Interlocked.Decrement(ref _keepAlives);
        }
    }

    /// <summary>Keeps the activation from idle collection until the handle is disposed (once).</summary>
    public IDisposable AcquireKeepAlive()
    {
        Interlocked.Increment(ref _keepAlives);
        return new KeepAliveHandle(this);
    }

    private sealed class KeepAliveHandle(Activation activation) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref activation._keepAlives);
            }
        }
    }

    private void DisposeTimers()
    {
        GrainTimer[] timers;
        lock (_timers)
        {
            timers = [.. _timers];
        }
        foreach (var timer in timers)
        {
            timer.Dispose();
        }
    }
}

internal enum EnqueueResult
{
    Enqueued,
    Full,
    Dead,
}
