namespace BudgetGrains.Grains.Alerts;

/// <summary>
/// Wakes whoever waits for new alerts (delivery, WatchAlerts streams) once alerts are durable. It carries no data:
/// waiters read the store for alerts after the last one they saw, so a missed pulse only delays, never loses.
/// </summary>
public sealed class AlertSignal
{
    private TaskCompletionSource _next = NewSource();

    /// <summary>Alerts were made durable.</summary>
    public void Persisted() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    /// <summary>Completes at the next <see cref="Persisted"/> (take it before reading the store, then await it).</summary>
    public Task NextAsync(CancellationToken cancellationToken) => Volatile.Read(ref _next).Task.WaitAsync(cancellationToken);

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
