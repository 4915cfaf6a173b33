using BudgetGrains.Grains.Storage;

namespace BudgetGrains.Grains.Reservations;

/// <summary>
/// The open holds a reservation shard takes over when it activates, for a store that keeps an open hold's state in its
/// hold index (<see cref="Journal.IJournalStore.KeepsOpenHoldStates"/>): such a state is nowhere else, so a shard must
/// hold all of its open reservations before it answers a call, or it would take an open one for new. The index is read
/// once, when the first shard activates, and split by shard; every shard's activation waits for that read, so no shard
/// opens a hold while it runs. A shard activating a second time in the same silo reads the index again.
/// </summary>
public sealed class OpenHoldStates(IBudgetStore store)
{
    /// <summary>Open holds per store query.</summary>
    private const int Page = 1_000;

    private readonly object _gate = new();
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);
    private Task<Dictionary<string, List<OpenHold>>>? _first;

    /// <summary>The open holds of <paramref name="shard"/>, each with its state (or null for a hold written before the
    /// index kept states: its state is under the reservation's key).</summary>
    public async Task<IReadOnlyList<OpenHold>> TakeAsync(string shard, CancellationToken cancellationToken)
    {
        Task<Dictionary<string, List<OpenHold>>> read;
        lock (_gate)
        {
            read = _taken.Add(shard) ? _first ??= ReadAllAsync(CancellationToken.None) : ReadAllAsync(cancellationToken);
            if (_taken.Count == ReservationShards.Count) _first = null;   // every shard has its part: the rest is garbage
        }
        var byShard = await read;
        return byShard.TryGetValue(shard, out var holds) ? holds : [];
    }

    private async Task<Dictionary<string, List<OpenHold>>> ReadAllAsync(CancellationToken cancellationToken)
    {
        var byShard = new Dictionary<string, List<OpenHold>>(StringComparer.Ordinal);
        for (var after = OpenHold.First; ;)
        {
            var holds = await store.ListOpenHoldsAsync(after, Page, cancellationToken);
            if (holds.Count == 0) return byShard;
            foreach (var hold in holds)
            {
                var shard = ReservationShards.Of(hold.ReservationId);
                if (!byShard.TryGetValue(shard, out var list)) byShard[shard] = list = [];
                list.Add(hold);
            }
            after = holds[^1] with { State = null };
        }
    }
}
