using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Prices;

/// <summary>
/// See <see cref="IPriceCatalogGrain"/>. It keeps no state of its own: the stored prices are rows of the store
/// (journal records), and their current set is the catalog's snapshot, which only this grain replaces. A change is
/// published only after its write is durable, so admission never prices with a change that a crash could undo.
/// </summary>
[GrainType(GrainTypes.PriceCatalog)]
internal sealed class PriceCatalogGrain(PriceCatalog catalog, IPriceStore store, JournalService journal, TimeProvider clock) : Grain, IPriceCatalogGrain
{
    private static readonly StateKey Key = new(GrainTypes.PriceCatalog, IPriceCatalogGrain.Key);

    private Task AppendJournalAsync(IReadOnlyList<IJournalRecord> records) => journal.AppendAsync(new JournalWrite(Key, null, records));

    public async Task<DefaultsLoaded> LoadAsync(IReadOnlyList<CatalogPrice> defaults)
    {
        var found = await store.ReadAsync(CancellationToken.None);
        var stored = found.Prices.ToDictionary(p => p.Model, StringComparer.Ordinal);
        var journal = new List<IJournalRecord>();
        var (applied, keptApi, overLimit) = (0, 0, 0);
        foreach (var price in defaults)
        {
            // Each default price is applied once: an administrator's later change or delete is never undone by a
            // restart, only by a newer default (a later as_of) for the same model.
            if (found.DefaultsApplied.TryGetValue(price.Model, out var asOf) && string.CompareOrdinal(asOf, price.AsOf) >= 0) continue;
            if (stored.TryGetValue(price.Model, out var current) && current.Source == PriceSource.Api)
            {
                keptApi++;
            }
            else if (current is null && stored.Count >= Limits.MaxPricedModels)
            {
                overLimit++;
                continue;
            }
            else
            {
                var asDefault = price with { Source = PriceSource.Default };
                stored[price.Model] = asDefault;
                journal.Add(new PriceStored(asDefault));
                applied++;
            }
            journal.Add(new DefaultPriceApplied(price.Model, price.AsOf));
        }
        if (journal.Count > 0) await AppendJournalAsync(journal);
        catalog.PublishStored(stored);
        return new DefaultsLoaded(stored.Count, applied, keptApi, overLimit);
    }

    public async Task<Result<PricesStored>> SetAsync(IReadOnlyList<CatalogPrice> prices)
    {
        var stored = new Dictionary<string, CatalogPrice>(catalog.Stored, StringComparer.Ordinal);
        var added = prices.Count(p => !stored.ContainsKey(p.Model));
        if (stored.Count + added > Limits.MaxPricedModels)
            return Failure.Exhausted($"the catalog holds {stored.Count} stored prices and this would add {added}; the limit is " +
                $"{Limits.MaxPricedModels}: delete prices of models no longer used");
        var today = PriceRules.Date(clock.GetUtcNow());
        var set = prices.Select(p => p with { Source = PriceSource.Api, AsOf = p.AsOf.Length == 0 ? today : p.AsOf }).ToList();
        await AppendJournalAsync([.. set.Select(p => new PriceStored(p))]);
        foreach (var price in set) stored[price.Model] = price;
        catalog.PublishStored(stored);
        return new PricesStored(set, added);
    }

    public async Task<Result<PriceRemoval>> RemoveAsync(string model)
    {
        if (!catalog.Stored.ContainsKey(model))
        {
            return catalog.IsConfigured(model)
                ? Failure.Precondition($"the price of {model} is set in the silo's configuration (BudgetGrains:Prices:{model}); remove it there and restart")
                : new PriceRemoval(false);
        }
        await AppendJournalAsync([new PriceDeleted(model)]);
        var stored = new Dictionary<string, CatalogPrice>(catalog.Stored, StringComparer.Ordinal);
        stored.Remove(model);
        catalog.PublishStored(stored);
        return new PriceRemoval(true);
    }
}
