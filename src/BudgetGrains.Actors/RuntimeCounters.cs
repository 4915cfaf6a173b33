using System.Diagnostics;

namespace BudgetGrains.Actors;

/// <summary>Counters behind <see cref="ActorRuntime.GetStatistics"/>: plain Interlocked adds on the hot path.</summary>
internal sealed class RuntimeCounters
{
    /// <summary>Fixed bucket bounds, so recording is a short scan and snapshots from different moments subtract.</summary>
    public static readonly long[] TurnLatencyBucketUpperBoundsMicroseconds =
        [10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 100_000, 1_000_000];

    private readonly long[] _turnLatencyCounts = new long[TurnLatencyBucketUpperBoundsMicroseconds.Length + 1];
    private long _turnsCompleted;
    private long _messagesQueued;
    private long _batches;
    private long _writes;
    private long _failedBatches;

    public void MessageQueued() => Interlocked.Increment(ref _messagesQueued);

    public void MessageDequeued(int count) => Interlocked.Add(ref _messagesQueued, -count);

    public void TurnCompleted(long startTimestamp)
    {
        long micros = (long)Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;
        var bounds = TurnLatencyBucketUpperBoundsMicroseconds;
        int bucket = 0;
        while (bucket < bounds.Length && micros > bounds[bucket])
        {
            bucket++;
        }
        Interlocked.Increment(ref _turnLatencyCounts[bucket]);
        Interlocked.Increment(ref _turnsCompleted);
    }

    public void BatchWritten(int writes, bool failed)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _writes, writes);
        if (failed)
        {
            Interlocked.Increment(ref _failedBatches);
        }
    }

    public RuntimeStatistics Snapshot(long activations)
    {
        var latencyCounts = new long[_turnLatencyCounts.Length];
        for (int i = 0; i < latencyCounts.Length; i++)
        {
            latencyCounts[i] = Interlocked.Read(ref _turnLatencyCounts[i]);
        }
        return new(
        activations,
        Interlocked.Read(ref _turnsCompleted),
        Interlocked.Read(ref _messagesQueued),
        TurnLatencyBucketUpperBoundsMicroseconds,
        latencyCounts,
        Interlocked.Read(ref _batches),
        Interlocked.Read(ref _writes),
        Interlocked.Read(ref _failedBatches));
    }
}
