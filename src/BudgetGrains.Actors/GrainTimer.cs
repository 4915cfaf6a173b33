using Microsoft.Extensions.Logging;

namespace BudgetGrains.Actors;

/// <summary>
/// A grain timer. Each due time enqueues one tick turn; while a tick is queued or running further due times are
/// skipped, so a slow callback never piles up ticks or overlaps itself or another turn.
/// </summary>
internal sealed class GrainTimer(Activation activation, Func<CancellationToken, Task> callback, bool keepAlive, bool oneShot)
    : ITurn, IDisposable
{
    private ITimer? _timer;
    private int _disposed;
    private int _tickPending;

    public bool KeepAlive { get; } = keepAlive;

    public bool IsCall => false;

    public void Start(TimeSpan dueTime, TimeSpan period)
    {
        var timer = activation.Runtime.TimeProvider.CreateTimer(
            static state => ((GrainTimer)state!).OnDue(), this, dueTime, period);
        Volatile.Write(ref _timer, timer);
        // Dispose may have run before the timer existed.
        if (Volatile.Read(ref _disposed) == 1)
        {
            timer.Dispose();
        }
    }

    private void OnDue()
    {
        if (Volatile.Read(ref _disposed) == 1 || Interlocked.Exchange(ref _tickPending, 1) == 1)
        {
            return;
        }
        if (activation.TryEnqueue(this) != EnqueueResult.Enqueued)
        {
            Volatile.Write(ref _tickPending, 0);
        }
    }

    public Task Run(Activation target)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            return Task.CompletedTask;
        }
        Task task;
        try
        {
            task = callback(target.Runtime.AbortToken);
        }
        catch (Exception e)
        {
            task = Task.FromException(e);
        }
        if (task.IsCompleted)
        {
            AfterTick(task);
            return Task.CompletedTask;
        }
        return AfterTickAsync(task);
    }

    private async Task AfterTickAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Logged by AfterTick from the task's own exception.
        }
        AfterTick(task);
    }

    private void AfterTick(Task task)
    {
        if (task.IsFaulted)
        {
            activation.Runtime.Logger.LogError(task.Exception, "A timer callback of {GrainId} threw; the timer keeps running", activation.Id);
        }
        Volatile.Write(ref _tickPending, 0);
        if (oneShot)
        {
            Dispose();
        }
    }

    public void Fail(Exception exception)
    {
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        Volatile.Read(ref _timer)?.Dispose();
        activation.RemoveTimer(this);
    }
}
