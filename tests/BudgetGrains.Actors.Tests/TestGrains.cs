using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Actors.Tests;

/// <summary>Lifecycle events of test grains, injected as a singleton so tests see every activation.</summary>
public sealed class ActivationLog
{
    private readonly ConcurrentDictionary<string, int> _activations = new();
    private readonly ConcurrentDictionary<string, int> _deactivations = new();

    public void Activated(GrainId id) => _activations.AddOrUpdate(id.ToString(), 1, (_, n) => n + 1);

    public void Deactivated(GrainId id) => _deactivations.AddOrUpdate(id.ToString(), 1, (_, n) => n + 1);

    public int Activations(GrainId id) => _activations.GetValueOrDefault(id.ToString());

    public int Deactivations(GrainId id) => _deactivations.GetValueOrDefault(id.ToString());

    /// <summary>When set, OnDeactivateAsync of counters waits for it (to hold a grain mid-deactivation).</summary>
    public TaskCompletionSource? HoldDeactivation { get; set; }

    public TaskCompletionSource DeactivationEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

public sealed class CounterState
{
    public int Value { get; set; }
}

public sealed record LedgerEntry(string GrainKey, int Amount) : IJournalRecord;

public sealed record UnknownRecord : IJournalRecord;

public interface ICounterGrain : IGrain
{
    Task<int> AddAsync(int amount);

    Task<int> GetAsync();

    Task AddAndWriteAsync(int amount);

    Task AddAndWriteWithJournalAsync(int amount, IJournalRecord record);

    Task DeactivateAsync();

    /// <summary>Issues two writes in one turn without awaiting the first.</summary>
    Task WriteTwiceAsync(int first, int second);

    Task ThrowAsync(string message);

    Task ThrowSynchronouslyAsync();

    Task<bool> RecordExistsAsync();
}

[GrainType("counter")]
public sealed class CounterGrain(ActivationLog log, ILogger<CounterGrain> logger) : Grain<CounterState>, ICounterGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        log.Activated(GrainId);
        logger.LogDebug("activated {GrainId}", GrainId);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(CancellationToken cancellationToken)
    {
        log.DeactivationEntered.TrySetResult();
        if (log.HoldDeactivation is { } hold)
        {
            await hold.Task;
        }
        log.Deactivated(GrainId);
    }

    public Task<int> AddAsync(int amount) => Task.FromResult(State.Value += amount);

    public Task<int> GetAsync() => Task.FromResult(State.Value);

    public Task AddAndWriteAsync(int amount)
    {
        State.Value += amount;
        return WriteStateAsync();
    }

    public Task AddAndWriteWithJournalAsync(int amount, IJournalRecord record)
    {
        State.Value += amount;
        return WriteStateAsync([record]);
    }

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task WriteTwiceAsync(int first, int second)
    {
        State.Value = first;
        var firstWrite = WriteStateAsync();
        State.Value = second;
        return Task.WhenAll(firstWrite, WriteStateAsync());
    }

    public async Task ThrowAsync(string message)
    {
        await Task.Yield();
        throw new InvalidOperationException(message);
    }

    public Task ThrowSynchronouslyAsync() => throw new ArgumentException("thrown before a task exists");

    public Task<bool> RecordExistsAsync() => Task.FromResult(RecordExists);
}

public interface ITurnProbeGrain : IGrain
{
    /// <summary>Records the argument in arrival order, yielding inside the turn.</summary>
    Task<int> AppendAsync(int value);

    Task<IReadOnlyList<int>> GetAppendedAsync();

    /// <summary>Counts a turn and detects another turn running at the same time.</summary>
    Task EnterAsync();

    Task<(int Count, int Overlaps)> GetCountsAsync();

    /// <summary>A turn that waits for the test: keeps the activation busy.</summary>
    Task BlockAsync(TaskCompletionSource entered, TaskCompletionSource release);

    Task StartTimerAsync(TimeSpan dueTime, TimeSpan period, bool keepAlive);

    Task StopTimerAsync();

    Task HoldKeepAliveAsync();

    Task DropKeepAliveAsync();

    Task<int> GetTicksAsync();

    Task DeactivateAsync();
}

[GrainType("probe")]
public sealed class TurnProbeGrain : Grain, ITurnProbeGrain
{
    private readonly List<int> _appended = [];
    private int _inTurn;
    private int _count;
    private int _overlaps;
    private int _ticks;
    private IDisposable? _timer;
    private IDisposable? _keepAlive;

    public async Task<int> AppendAsync(int value)
    {
        _appended.Add(value);
        await Task.Yield();
        return _appended.Count - 1;
    }

    public Task<IReadOnlyList<int>> GetAppendedAsync() => Task.FromResult<IReadOnlyList<int>>([.. _appended]);

    public async Task EnterAsync()
    {
        await EnterTurnAsync();
        _count++;
    }

    private async Task EnterTurnAsync()
    {
        if (Interlocked.Exchange(ref _inTurn, 1) == 1)
        {
            Interlocked.Increment(ref _overlaps);
        }
        await Task.Yield();
        Volatile.Write(ref _inTurn, 0);
    }

    public Task<(int Count, int Overlaps)> GetCountsAsync() => Task.FromResult((_count, Volatile.Read(ref _overlaps)));

    public async Task BlockAsync(TaskCompletionSource entered, TaskCompletionSource release)
    {
        entered.TrySetResult();
        await release.Task;
    }

    public Task StartTimerAsync(TimeSpan dueTime, TimeSpan period, bool keepAlive)
    {
        _timer = RegisterTimer(async _ =>
        {
            await EnterTurnAsync();
            _ticks++;
        }, dueTime, period, keepAlive);
        return Task.CompletedTask;
    }

    public Task StopTimerAsync()
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public Task HoldKeepAliveAsync()
    {
        _keepAlive = KeepAlive();
        return Task.CompletedTask;
    }

    public Task DropKeepAliveAsync()
    {
        _keepAlive?.Dispose();
        _keepAlive?.Dispose(); // a second dispose must not release someone else's keep-alive
        return Task.CompletedTask;
    }

    public Task<int> GetTicksAsync() => Task.FromResult(_ticks);

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public interface IParallelGrain : IGrain
{
    /// <summary>Blocks its thread until the other participant arrives: only possible if both run at once.</summary>
    Task<bool> MeetAsync(Barrier barrier);
}

[GrainType("parallel")]
public sealed class ParallelGrain : Grain, IParallelGrain
{
    public Task<bool> MeetAsync(Barrier barrier) => Task.FromResult(barrier.SignalAndWait(TimeSpan.FromSeconds(10)));
}
