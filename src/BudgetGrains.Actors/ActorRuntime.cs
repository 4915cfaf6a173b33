using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BudgetGrains.Actors;

/// <summary>
/// A silo's grain runtime: the activation directory, turn scheduling, idle collection and the group-commit writer.
/// Register grain classes with <see cref="AddGrain{TGrainInterface, TGrain}"/>, then hand out references with
/// <see cref="GetGrain{TGrainInterface}"/>.
/// </summary>
public sealed class ActorRuntime : IGrainFactory, IAsyncDisposable
{
    private readonly ConcurrentDictionary<Type, GrainRegistration> _registrations = new();
    private readonly ConcurrentDictionary<GrainId, Activation> _activations = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly ITimer _collector;
    private readonly object _stopLock = new();
    private Task? _stopTask;
    private long _activationCount;
    private int _collecting;
    private volatile bool _started;
    private volatile bool _stopping;

    /// <summary>Creates a runtime; it starts the group-commit writer and the idle collector at once.</summary>
    public ActorRuntime(ActorRuntimeOptions options, IGrainStorage storage, IServiceProvider services, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(services);
        if (options.MaxActivations < 1 || options.MaxMailboxLength < 1 || options.MaxTimersPerActivation < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxActivations, MaxMailboxLength and MaxTimersPerActivation must be at least 1.");
        }
        Options = options;
        Storage = storage;
        Services = services;
        TimeProvider = timeProvider ?? TimeProvider.System;
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ActorRuntime>();
        Writer = new GroupCommitWriter(storage, Counters, Logger, options.MaxGroupCommitBatch);
        _collector = TimeProvider.CreateTimer(static state => ((ActorRuntime)state!).CollectIdle(), this, options.CollectionInterval, options.CollectionInterval);
    }

    internal ActorRuntimeOptions Options { get; }

    internal IGrainStorage Storage { get; }

    internal IServiceProvider Services { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILogger Logger { get; }

    internal RuntimeCounters Counters { get; } = new();

    internal GroupCommitWriter Writer { get; }

    /// <summary>Canceled when a StopAsync caller gives up waiting; grain callbacks receive it.</summary>
    internal CancellationToken AbortToken => _abort.Token;

    /// <summary>Registers a grain class for an interface. Call before the first <see cref="GetGrain{TGrainInterface}"/>.</summary>
    public ActorRuntime AddGrain<TGrainInterface, TGrain>()
        where TGrainInterface : IGrain
        where TGrain : Grain, TGrainInterface
    {
        if (_started)
        {
            throw new InvalidOperationException("AddGrain must be called before the first GetGrain.");
        }
        if (!typeof(TGrainInterface).IsInterface)
        {
            throw new ArgumentException($"{typeof(TGrainInterface).Name} must be an interface.", nameof(TGrainInterface));
        }
        string typeName = typeof(TGrain).GetCustomAttribute<GrainTypeAttribute>()?.Name
            ?? throw new ArgumentException($"{typeof(TGrain).Name} needs a [GrainType(\"name\")] attribute.", nameof(TGrain));
        if (_registrations.Values.Any(r => r.TypeName == typeName && r.GrainClass != typeof(TGrain)))
        {
            throw new ArgumentException($"Grain type name '{typeName}' is already used by another class.", nameof(TGrain));
        }
        TimeSpan idleTimeout = Options.IdleTimeoutByGrainType.GetValueOrDefault(typeName, Options.DefaultIdleTimeout);
        var registration = new GrainRegistration(typeName, typeof(TGrain), idleTimeout, InterfaceMetadata.Build(typeof(TGrainInterface)));
        if (!_registrations.TryAdd(typeof(TGrainInterface), registration))
        {
            throw new ArgumentException($"{typeof(TGrainInterface).Name} is already registered.", nameof(TGrainInterface));
        }
        return this;
    }

    /// <inheritdoc/>
    public TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrain
    {
        ArgumentNullException.ThrowIfNull(key);
        _started = true;
        if (!_registrations.TryGetValue(typeof(TGrainInterface), out var registration))
        {
            throw new InvalidOperationException($"No grain class is registered for {typeof(TGrainInterface).Name}; call AddGrain first.");
        }
        var proxy = DispatchProxy.Create<TGrainInterface, GrainReference>();
        ((GrainReference)(object)proxy).Initialize(this, registration, registration.Metadata, new GrainId(registration.TypeName, key));
        return proxy;
    }

    /// <summary>Activations, turns, queued messages, turn latency histogram and group-commit counters.</summary>
    public RuntimeStatistics GetStatistics() => Counters.Snapshot(Interlocked.Read(ref _activationCount));

    /// <summary>
    /// Deactivates every activation after the calls already queued to it (OnDeactivateAsync as its last turn),
    /// waits for their writes, and stops the group-commit writer. Idempotent. Calls made meanwhile that need a
    /// new activation fail with <see cref="InvalidOperationException"/>. Cancelling stops waiting and cancels the
    /// token grain callbacks receive; shutdown goes on in the background.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_stopLock)
        {
            _stopTask ??= StopCoreAsync();
        }
        return cancellationToken.CanBeCanceled ? WaitForStopAsync(_stopTask, cancellationToken) : _stopTask;
    }

    /// <summary>Stops the runtime (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    // _abort is never disposed: a caller's token may fire after shutdown, and a CancellationTokenSource without
    // a timeout holds no unmanaged resources.
    private async Task WaitForStopAsync(Task stop, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _abort);
        await stop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StopCoreAsync()
    {
        _stopping = true;
        await _collector.DisposeAsync().ConfigureAwait(false);
        // Deactivation can re-dispatch calls that raced with it into new activations: repeat until none are left.
        while (!_activations.IsEmpty)
        {
            var activations = _activations.Values.ToArray();
            foreach (var activation in activations)
            {
                activation.RequestDeactivation();
            }
            await Task.WhenAll(activations.Select(a => a.Completion)).ConfigureAwait(false);
        }
        await Writer.StopAsync().ConfigureAwait(false);
    }

    /// <summary>Delivers a call to the grain's activation, creating one if there is none or the old one died.</summary>
    internal void Dispatch(GrainId id, GrainRegistration registration, ITurn turn)
    {
        while (true)
        {
            if (!_activations.TryGetValue(id, out var activation))
            {
                if (_stopping)
                {
                    turn.Fail(new InvalidOperationException($"The actor runtime is stopping; {id} cannot be activated."));
                    return;
                }
                if (Interlocked.Read(ref _activationCount) >= Options.MaxActivations)
                {
                    turn.Fail(new GrainOverloadedException(
                        $"Cannot activate {id}: {Options.MaxActivations} activations are alive (MaxActivations). Retry later or raise the limit."));
                    return;
                }
                var created = new Activation(this, id, registration);
                activation = _activations.GetOrAdd(id, created);
                if (ReferenceEquals(activation, created))
                {
                    Interlocked.Increment(ref _activationCount);
                }
            }
            switch (activation.TryEnqueue(turn))
            {
                case EnqueueResult.Enqueued:
                    return;
                case EnqueueResult.Full:
                    turn.Fail(new GrainOverloadedException(
                        $"The mailbox of {id} is full ({Options.MaxMailboxLength} calls queued, MaxMailboxLength). Back off and retry."));
                    return;
                case EnqueueResult.Dead:
                    // It left the directory before it died, so the next lookup finds or creates a successor.
                    continue;
            }
        }
    }

    internal void RemoveActivation(Activation activation)
    {
        if (_activations.TryRemove(new KeyValuePair<GrainId, Activation>(activation.Id, activation)))
        {
            Interlocked.Decrement(ref _activationCount);
        }
    }

    private void CollectIdle()
    {
        // System timers can overlap when a pass is slow; one pass at a time is enough.
        if (Interlocked.Exchange(ref _collecting, 1) == 1)
        {
            return;
        }
        try
        {
            long now = TimeProvider.GetUtcNow().UtcTicks;
            foreach (var activation in _activations.Values)
            {
                activation.TryCollect(now);
            }
        }
        finally
        {
            Volatile.Write(ref _collecting, 0);
        }
    }
}
