namespace BudgetGrains.Actors;

/// <summary>A snapshot of an <see cref="ActorRuntime"/>'s counters.</summary>
/// <param name="Activations">Activations alive now (activating, serving or deactivating).</param>
/// <param name="TurnsCompleted">Turns run since start: calls, timer ticks, activations and deactivations.</param>
/// <param name="MessagesQueued">Calls and ticks waiting in mailboxes now.</param>
/// <param name="TurnLatencyBucketUpperBoundsMicroseconds">Upper bounds of the latency buckets; the last bucket of <paramref name="TurnLatencyCounts"/> is everything above.</param>
/// <param name="TurnLatencyCounts">Turns per latency bucket (one more entry than the bounds).</param>
/// <param name="GroupCommitBatches">Storage transactions written (successful or not).</param>
/// <param name="GroupCommitWrites">State writes handed to storage in those transactions.</param>
/// <param name="GroupCommitFailedBatches">Storage transactions that threw.</param>
public sealed record RuntimeStatistics(
    long Activations,
    long TurnsCompleted,
    long MessagesQueued,
    IReadOnlyList<long> TurnLatencyBucketUpperBoundsMicroseconds,
    IReadOnlyList<long> TurnLatencyCounts,
    long GroupCommitBatches,
    long GroupCommitWrites,
    long GroupCommitFailedBatches);
