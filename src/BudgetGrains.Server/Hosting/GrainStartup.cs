using BudgetGrains.Grains.Prices;
using BudgetGrains.Server.Alerts;

namespace BudgetGrains.Server.Hosting;

/// <summary>What the grains need before the silo takes traffic: the price catalog filled (stored prices, then the default
/// file's new entries), the meter catalog read, and every alert outbox opened (a new sink starts at the newest alert). Registered after Orleans,
/// so it runs once the silo is up and before Kestrel opens the listeners.</summary>
internal sealed class GrainStartup(IGrainFactory grains, IReadOnlyList<CatalogPrice> defaultPrices, AlertDispatcher alerts, ILogger logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await PriceStartup.LoadAsync(grains, defaultPrices, logger);
        var meters = await grains.GetGrain<Grains.Meters.IMeterCatalogGrain>(Grains.Meters.IMeterCatalogGrain.Key).LoadAsync();
        logger.LogInformation("Meters: {Stored} in the catalog", meters);
        await alerts.OpenAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
