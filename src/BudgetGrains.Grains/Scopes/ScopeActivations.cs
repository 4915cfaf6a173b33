using System.Collections.Concurrent;

namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// The scope activations of this silo and their epochs. When another silo dies, the in-memory changes its reservations
/// made here (holds, spend) that never became durable would stay in these counters for ever; so every activation listed
/// here is then fenced out (deactivated) and reloads from the store on its next call, with a new epoch that refuses any
/// write admitted on the old counters. docs/decisions/0028-fencing.md.
/// Each activation also publishes here what a check of it reads (<see cref="ScopeView"/>): at most one view per
/// activation listed, so the views are bounded as the activations are (Orleans' collection removes idle ones).
/// </summary>
public sealed class ScopeActivations
{
    private readonly ConcurrentDictionary<string, long> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ScopeView> _views = new(StringComparer.Ordinal);

    internal void Add(string scope, long epoch) => _active[scope] = epoch;

    internal void Remove(string scope, long epoch)
    {
        Withdraw(scope, epoch);
        _active.TryRemove(new KeyValuePair<string, long>(scope, epoch));
    }

    internal void Publish(string scope, ScopeView view) => _views[scope] = view;

    /// <summary>Removes the scope's view if the activation of <paramref name="epoch"/> published it.</summary>
    internal void Withdraw(string scope, long epoch)
    {
        if (_views.TryGetValue(scope, out var view) && view.Epoch == epoch) _views.TryRemove(new KeyValuePair<string, ScopeView>(scope, view));
    }

    /// <summary>What the scope's CheckAsync would answer, from the figures its activation on this silo published; null
    /// when the grain must answer (not active here, a rate or task limit, a period to roll).</summary>
    internal ScopeAnswer? Check(string scope, long amountNanos, long nowUnixMs) =>
        _views.TryGetValue(scope, out var view) ? view.Check(amountNanos, nowUnixMs) : null;

    /// <summary>Asks every listed activation to deactivate (each only if it still has the epoch listed).</summary>
    public async Task FenceOutAllAsync(IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(grains);
        // Their counters may hold what the dead silo's reservations changed: checks ask the grains until they reloaded.
        _views.Clear();
        await Task.WhenAll(_active.ToArray().Select(a => grains.Scope(a.Key).FencedOutAsync(a.Value)));
    }

    /// <summary>Scope activations on this silo.</summary>
    public int Count => _active.Count;
}
