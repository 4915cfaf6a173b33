using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Prices;

namespace BudgetGrains.Grains.Meters;

/// <summary>
/// See <see cref="IMeterCatalogGrain"/>. No state of its own, as the price catalog grain: the meters are rows of the
/// store, and their current set is the catalog's snapshot, which only this grain replaces, after the write is durable.
/// </summary>
[GrainType(GrainTypes.MeterCatalog)]
internal sealed class MeterCatalogGrain(MeterCatalog catalog, IMeterStore store, JournalService journal, TimeProvider clock) : Grain, IMeterCatalogGrain
{
    private static readonly StateKey Key = new(GrainTypes.MeterCatalog, IMeterCatalogGrain.Key);

    public async Task<int> LoadAsync()
    {
        var stored = await store.ReadCatalogAsync(CancellationToken.None);
        catalog.Publish(stored.ToDictionary(m => m.Name, StringComparer.Ordinal));
        return stored.Count;
    }

    public async Task<Result<MetersStored>> SetAsync(IReadOnlyList<CatalogMeter> meters)
    {
        var next = new Dictionary<string, CatalogMeter>(catalog.ByName, StringComparer.Ordinal);
        var added = meters.Count(m => !next.ContainsKey(m.Name));
        if (next.Count + added > Limits.MaxMeters)
            return Failure.Exhausted($"the meter catalog holds {next.Count} meters and this would add {added}; the limit is {Limits.MaxMeters}: " +
                "delete meters no longer used");
        var today = PriceRules.Date(clock.GetUtcNow());
        var set = meters.Select(m => m with { AsOf = m.AsOf.Length == 0 ? today : m.AsOf }).ToList();
        await journal.AppendAsync(new JournalWrite(Key, null, [.. set.Select(m => new MeterStored(m))]));
        foreach (var meter in set) next[meter.Name] = meter;
        catalog.Publish(next);
        return new MetersStored(set, added);
    }

    public async Task<Result<MeterRemoval>> RemoveAsync(string name)
    {
        if (!catalog.Contains(name)) return new MeterRemoval(false);
        await journal.AppendAsync(new JournalWrite(Key, null, [new MeterDeleted(name)]));
        var next = new Dictionary<string, CatalogMeter>(catalog.ByName, StringComparer.Ordinal);
        next.Remove(name);
        catalog.Publish(next);
        return new MeterRemoval(true);
    }
}
