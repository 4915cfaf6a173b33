using System.Collections.Concurrent;

namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// The scope activations of this silo and their epochs. When another silo dies, the in-memory changes its reservations
/// made here (holds, spend) that never became durable would stay in these counters for ever; so every activation listed
/// here is then fenced out (deactivated) and reloads from the store on its next call, with a new epoch that refuses any
/// write admitted on the old counters. docs/decisions/0028-fencing.md.
/// </summary>
public sealed class ScopeActivations
{
    private readonly ConcurrentDictionary<string, long> _active = new(StringComparer.Ordinal);

    internal void Add(string scope, long epoch) => _active[scope] = epoch;

    internal void Remove(string scope, long epoch) => _active.TryRemove(new KeyValuePair<string, long>(scope, epoch));

    /// <summary>Asks every listed activation to deactivate (each only if it still has the epoch listed).</summary>
    public async Task FenceOutAllAsync(IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(grains);
        await Task.WhenAll(_active.ToArray().Select(a => grains.Scope(a.Key).FencedOutAsync(a.Value)));
    }

    /// <summary>Scope activations on this silo.</summary>
    public int Count => _active.Count;
}
