
using BudgetGrains.Grains.Prices;

namespace BudgetGrains.Server.Hosting;

/// <summary>Fills the price catalog before the silo serves: stored prices, then the default file's new entries.</summary>
internal static class PriceStartup
{
    public static async Task LoadAsync(IGrainFactory grains, IReadOnlyList<CatalogPrice> defaults, ILogger logger)
    {
        var loaded = await grains.GetGrain<IPriceCatalogGrain>(IPriceCatalogGrain.Key).LoadAsync(defaults);
        logger.LogInformation("Prices: {Stored} stored ({Applied} applied from the default file, {KeptApi} of its prices left under API prices)",
            loaded.Stored, loaded.Applied, loaded.KeptApi);
        if (loaded.OverLimit > 0)
        {
            logger.LogWarning("Prices: {OverLimit} default prices were not stored: the catalog is at its limit of {Limit} models; " +
                "delete unused prices and restart to load them", loaded.OverLimit, Grains.Limits.MaxPricedModels);
        }
    }
}
