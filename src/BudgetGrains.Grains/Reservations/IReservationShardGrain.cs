using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Reservations;

/// <summary>
/// The reservations whose request ids hash to one shard (<see cref="ReservationShards"/>), in memory while their holds
/// are open. A grain per shard, not per reservation: an Orleans activation per request (placement, directory, a timer)
/// cost more than the rest of a reserve, and several KB of memory per open hold. Calls with the same request id run
/// one at a time, so duplicates, even concurrent ones, have one effect.
/// </summary>
public interface IReservationShardGrain : IGrainWithStringKey
{
    /// <summary>Hold the estimate on every scope of the chain, or deny; durable before it answers.</summary>
    Task<Result<ReserveAnswer>> ReserveAsync(ReserveCommand command);

    /// <summary>Replace the hold by the actual spend and append a ledger entry; durable before it answers.</summary>
    Task<Result<CommitAnswer>> CommitAsync(CommitCommand command);

    /// <summary>Remove the hold, spend nothing.</summary>
    Task<Result<ReleaseAnswer>> ReleaseAsync(string reservationId);

    /// <summary>Load these reservations of the shard, and the open holds it took from the store's hold index when it
    /// activated, so their holds expire on time (after a restart, or after the silo that held them died). Returns how
    /// many loaded.</summary>
    Task<int> WakeAsync(string[] reservationIds);
}

/// <summary>Which shard a request id belongs to.</summary>
public static class ReservationShards
{
    /// <summary>Shards in a deployment. Every silo of a cluster must agree (it places ids, it is not stored): a power of
    /// two, a few times the cores a cluster has, so that shards spread over silos and no shard's turns are a bottleneck.</summary>
    public const int Count = 64;

    /// <summary>The shard grain key of <paramref name="requestId"/>: FNV-1a of its characters, so the same on every silo
    /// and every run (string.GetHashCode is randomized per process).</summary>
    public static string Of(string requestId)
    {
        var hash = 2166136261u;
        foreach (var c in requestId) hash = (hash ^ c) * 16777619u;
        return Keys[hash % Count];
    }

    /// <summary>Every shard's key.</summary>
    public static IReadOnlyList<string> All => Keys;

    private static readonly string[] Keys = Enumerable.Range(0, Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
