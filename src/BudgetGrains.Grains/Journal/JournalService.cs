using BudgetGrains.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Grains.Journal;

/// <summary>
/// The silo's journal (DESIGN.md §5): the one writer of grain state and journal records, a singleton the grains call.
/// Writes queue up while the previous batch is in the store; the writer then takes all of them (up to
/// <see cref="MaxBatch"/>) into one transaction, so one fsync acknowledges many requests (group commit).
/// It runs on its own thread because the store's commits block on fsync and must not hold thread-pool threads, which
/// Orleans' schedulers and Kestrel need. FIFO batches, one at a time, keep each grain's writes in issue order.
/// </summary>
public sealed class JournalService : IAsyncDisposable
{
    /// <summary>Writes per transaction.</summary>
    public const int MaxBatch = 1_000;

    /// <summary>Writes waiting for the store at once (I5); one more fails at once with <see cref="StorageUnavailableException"/>
    /// rather than queueing without bound behind a slow or stuck disk.</summary>
    public const int MaxQueuedWrites = 100_000;

    private readonly IJournalStore _store;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Queue<PendingWrite> _queue = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _completed;
    private bool _writerWaiting;
    private long _batches;
    private long _writes;
    private long _failedBatches;
    private long _fencedWrites;

    public JournalService(IJournalStore store, ILogger<JournalService> logger)
    {
        (_store, _logger) = (store, logger);
        new Thread(Run) { IsBackground = true, Name = "BudgetGrains journal" }.Start();
    }

    /// <summary>The last written state of a grain, or null if none was ever written.</summary>
    public Task<byte[]?> ReadStateAsync(StateKey grain, CancellationToken cancellationToken) => _store.ReadStateAsync(grain, cancellationToken);

    /// <summary>Claims <paramref name="scope"/> for a new activation (see <see cref="IJournalStore.ClaimEpochAsync"/>).</summary>
    public Task<long> ClaimEpochAsync(string scope, CancellationToken cancellationToken) => _store.ClaimEpochAsync(scope, cancellationToken);

    /// <summary>See <see cref="IJournalStore.KeepsOpenHoldStates"/>.</summary>
    public bool KeepsOpenHoldStates => _store.KeepsOpenHoldStates;

    /// <summary>Writes refused because an activation that admitted them was stale (fencing), since the silo started.</summary>
    public long FencedWrites => Interlocked.Read(ref _fencedWrites);

    /// <summary>Queues a write; completes when it is durable, or fails with <see cref="StorageUnavailableException"/>.</summary>
    public Task AppendAsync(JournalWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var pending = new PendingWrite(write);
        lock (_gate)
        {
            if (_completed) return Task.FromException(new StorageUnavailableException("the silo is stopping; the journal takes no more writes"));
            if (_queue.Count >= MaxQueuedWrites)
                return Task.FromException(new StorageUnavailableException($"the journal has {MaxQueuedWrites} writes waiting for the store; retry shortly"));
            _queue.Enqueue(pending);
            if (_writerWaiting) Monitor.Pulse(_gate);
        }
        return pending.Task;
    }

    /// <summary>The journal's counters (batches, writes) since the silo started.</summary>
    public JournalStatistics Statistics => new(Interlocked.Read(ref _batches), Interlocked.Read(ref _writes), Interlocked.Read(ref _failedBatches));

    /// <summary>Writes what is queued, then stops the writer thread. Called after Orleans has deactivated every grain,
    /// so the deactivations' last writes are in the queue.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.Pulse(_gate);
        }
        return new ValueTask(_stopped.Task);
    }

    private void Run()
    {
        var batch = new List<JournalWrite>(MaxBatch);
        var waiters = new List<PendingWrite>(MaxBatch);
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
                while (waiters.Count < MaxBatch && _queue.TryDequeue(out var pending))
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

    private void WriteBatch(List<JournalWrite> batch, List<PendingWrite> waiters)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _writes, batch.Count);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        IReadOnlyList<int> refused;
        try
        {
            refused = _store.WriteBatchAsync(batch, CancellationToken.None).GetAwaiter().GetResult();
            BudgetMeters.JournalBatch(batch.Count, started, failed: false);
        }
        catch (Exception e)
        {
            BudgetMeters.JournalBatch(batch.Count, started, failed: true);
            Interlocked.Increment(ref _failedBatches);
            _logger.LogError(e, "A journal batch of {Count} writes failed; its writers get StorageUnavailableException", batch.Count);
            var error = new StorageUnavailableException($"a batch of {batch.Count} journal writes could not be made durable: {e.Message}", e);
            foreach (var waiter in waiters) waiter.TrySetException(error);
            return;
        }
        if (refused.Count > 0)
        {
            Interlocked.Add(ref _fencedWrites, refused.Count);
            _logger.LogWarning("The store refused {Count} of {Total} journal writes: a scope activation that admitted them is stale " +
                "(the scope was activated on another silo since); their callers get UNAVAILABLE and retry", refused.Count, batch.Count);
            foreach (var index in refused)
                waiters[index].TrySetException(new StorageUnavailableException(
                    $"the write of {batch[index].Grain} was refused: another activation changed what it touches first (a scope, or the reservation, moved to another silo); retry with the same id",
                    fenced: true));
        }
        foreach (var waiter in waiters) waiter.TrySetResult();
    }

    private sealed class PendingWrite(JournalWrite write) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public JournalWrite Write { get; } = write;
    }
}
