using Microsoft.Extensions.Logging;

namespace BudgetGrains.Actors;

/// <summary>
/// The single writer of grain state. Writes queue up while the previous batch is in storage; the writer then takes
/// all of them (up to MaxGroupCommitBatch) into one storage transaction, so one fsync acknowledges many turns.
/// It runs on its own thread because storage commits block on fsync and must not hold thread-pool threads.
/// FIFO batches, one at a time, keep each grain's writes in issue order.
/// </summary>
internal sealed class GroupCommitWriter
{
    private readonly IGrainStorage _storage;
    private readonly RuntimeCounters _counters;
    private readonly ILogger _logger;
    private readonly int _maxBatch;
    private readonly object _gate = new();
    private readonly Queue<PendingWrite> _queue = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _completed;
    private bool _writerWaiting;

    public GroupCommitWriter(IGrainStorage storage, RuntimeCounters counters, ILogger logger, int maxBatch)
    {
        if (maxBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "MaxGroupCommitBatch must be at least 1.");
        }
        _storage = storage;
        _counters = counters;
        _logger = logger;
        _maxBatch = maxBatch;
        new Thread(Run) { IsBackground = true, Name = "BudgetGrains group commit" }.Start();
    }

    public Task Enqueue(StateWrite write)
    {
        var pending = new PendingWrite(write);
        lock (_gate)
        {
            if (_completed)
            {
                throw new InvalidOperationException("The actor runtime has stopped; grain state can no longer be written.");
            }
            _queue.Enqueue(pending);
            if (_writerWaiting)
            {
                Monitor.Pulse(_gate);
            }
        }
        return pending.Task;
    }

    /// <summary>Writes what is queued, then stops the writer thread.</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.Pulse(_gate);
        }
        return _stopped.Task;
    }

    private void Run()
    {
        var batch = new List<StateWrite>(_maxBatch);
        var waiters = new List<PendingWrite>(_maxBatch);
        while (true)
        {
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    if (_completed)
                    {
                        _stopped.TrySetResult();
                        return;
                    }
                    _writerWaiting = true;
                    Monitor.Wait(_gate);
                    _writerWaiting = false;
                }
                while (waiters.Count < _maxBatch && _queue.TryDequeue(out var pending))
                {
                    waiters.Add(pending);
                    batch.Add(pending.Write);
                }
            }
            WriteBatch(batch, waiters);
            batch.Clear();
            waiters.Clear();
        }
    }

    private void WriteBatch(List<StateWrite> batch, List<PendingWrite> waiters)
    {
        try
        {
            _storage.WriteBatchAsync(batch, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            _counters.BatchWritten(batch.Count, failed: true);
            _logger.LogError(e, "A group-commit batch of {Count} writes failed; its writers get StorageUnavailableException", batch.Count);
            var error = new StorageUnavailableException($"A batch of {batch.Count} state writes could not be made durable: {e.Message}", e);
            foreach (var waiter in waiters)
            {
                waiter.TrySetException(error);
            }
            return;
        }
        _counters.BatchWritten(batch.Count, failed: false);
        foreach (var waiter in waiters)
        {
            waiter.TrySetResult();
        }
    }

    private sealed class PendingWrite(StateWrite write) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public StateWrite Write { get; } = write;
    }
}
