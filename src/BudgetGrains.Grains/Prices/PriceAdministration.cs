using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Prices;

/// <summary>The control plane for prices: set, import, list, delete. Input is checked here; bad input changes nothing.</summary>
public sealed class PriceAdministration(IGrainFactory grains, PriceCatalog catalog)
{
    private IPriceCatalogGrain Grain => grains.GetGrain<IPriceCatalogGrain>(IPriceCatalogGrain.Key);

    /// <summary>Creates or replaces a model's price (source api; the request's source is output only and ignored).</summary>
    public async Task<Result<CatalogPrice>> UpsertAsync(CatalogPrice price)
    {
        if (PriceRules.Validate(price) is { } invalid) return invalid;
        var stored = await StoreAsync([price], "the price could not be made durable; retry");
        return stored.Failure ?? (Result<CatalogPrice>)stored.Value!.Prices[0];
    }

    /// <summary>Stores every price of a file at once, or none: one bad entry, a model given twice, or a catalog that
    /// would grow past its limit is refused before anything is written.</summary>
    public async Task<Result<PricesStored>> ImportAsync(IReadOnlyList<CatalogPrice> prices)
    {
        if (ValidateImport(prices) is { } invalid) return invalid;
        return await StoreAsync(prices, "the prices could not be made durable (none was imported); retry");
    }

    /// <summary>The checks of an import, also applied to the shipped default file: each price valid, each model once.</summary>
    public static Failure? ValidateImport(IReadOnlyList<CatalogPrice> prices)
    {
        if (prices.Count == 0) return Failure.Invalid("prices is empty: nothing to import");
        if (prices.Count > Limits.MaxPricedModels)
            return Failure.Invalid($"prices has {prices.Count} entries; at most {Limits.MaxPricedModels} can be imported");
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < prices.Count; i++)
        {
            if (PriceRules.Validate(prices[i], $"prices[{i}]") is { } invalid) return invalid;
            if (!seen.TryAdd(prices[i].Model, i))
                return Failure.Invalid($"prices[{i}]: model {prices[i].Model} is also prices[{seen[prices[i].Model]}]; give each model once");
        }
        return null;
    }

    /// <summary>The price that applies to each model (whatever its source), in model order; the page token is the
    /// last model of the previous page.</summary>
    public Result<PricePage> List(string modelPrefix, int pageSize, string pageToken)
    {
        if (PageTokens.Size(pageSize) is not { } size) return PageTokens.InvalidSize;
        if (modelPrefix.Length > Limits.MaxModelNameLength) return Failure.Invalid($"model_prefix is longer than {Limits.MaxModelNameLength} characters");
        if (!PageTokens.TryDecode(pageToken, out var after)) return PageTokens.InvalidToken;
        var all = catalog.InModelOrder;
        var start = FirstIndex(all, model => string.CompareOrdinal(model, modelPrefix) >= 0 && string.CompareOrdinal(model, after) > 0);
        var matching = all.Skip(start).TakeWhile(p => p.Model.StartsWith(modelPrefix, StringComparison.Ordinal)).Take(size + 1).ToList();
        var page = matching.Count > size ? matching[..size] : matching;
        return new PricePage(page, matching.Count > size ? PageTokens.Encode(page[^1].Model) : "");
    }

    /// <summary>Removes a model's stored price; later calls for it are UNKNOWN_PRICE, or priced by configuration or the
    /// fallback price if the silo has those.</summary>
    public async Task<Result<PriceRemoval>> DeleteAsync(string model)
    {
        if (PriceRules.Model(model) is { } invalid) return invalid;
        try
        {
            return await Grain.RemoveAsync(model);
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the deletion could not be made durable; retry");
        }
    }

    private async Task<Result<PricesStored>> StoreAsync(IReadOnlyList<CatalogPrice> prices, string unavailable)
    {
        try
        {
            return await Grain.SetAsync(prices);
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable(unavailable);
        }
    }

    /// <summary>Index of the first price whose model passes <paramref name="isPastStart"/>, a test that stays true once true in model order.</summary>
    private static int FirstIndex(IReadOnlyList<CatalogPrice> sorted, Func<string, bool> isPastStart)
    {
        var (low, high) = (0, sorted.Count);
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (isPastStart(sorted[middle].Model)) high = middle;
            else low = middle + 1;
        }
        return low;
    }
}

/// <summary>One page of <see cref="PriceAdministration.List"/>.</summary>
public sealed record PricePage(IReadOnlyList<CatalogPrice> Prices, string NextPageToken);
