using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>
/// A release is durable before the scopes hear of it. When a scope reloads from the store in between (in a cluster the
/// survivors of a silo's death fence out and reload every scope, docs/decisions/0028), the new activation already counts
/// the release and must not count it again (docs/decisions/0052): seen before as "held -100" after a kill -9.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ReleaseFencingTests(PostgresFixture postgres) : IDisposable
{
    private const int Holds = 300;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-pg-release-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task ReleasesRacingReloadsOfTheirScopesAreCountedOnce()
    {
        var database = await postgres.NewDatabaseAsync();
        await using var silo = await Silo.StartAsync(new SiloOptions
        {
            Listen = "127.0.0.1:0", Http = "none", DataDir = _dataDir, Storage = "postgres", PostgresConnectionString = database,
            StatisticsInterval = TimeSpan.Zero, DefaultPricesFile = "",
        }, logging => logging.SetMinimumLevel(LogLevel.Error));
        var admission = new AdmissionApi(silo.Grains, PriceCatalog.Empty);
        var budgets = new BudgetAdministration(silo.Grains, silo.Store);

        const string name = "race";
        var attribution = new Attribution(Tenant: name, Team: name);
        var ids = Enumerable.Range(0, Holds).Select(i => $"{name}-{i}").ToArray();
        await Parallel.ForEachAsync(ids, async (id, _) =>
            Assert.True((await admission.ReserveAsync(new ReserveCommand(id, attribution, 100, null, default, 0))).Value!.Admitted));

        // Waves of releases, each racing reloads of its scopes; after each, memory must equal the store.
        foreach (var wave in ids.Chunk(Holds / 10))
        {
            using var stop = new CancellationTokenSource();
            var reloading = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested) await silo.Scopes.FenceOutAllAsync(silo.Grains);
            });
            // A release refused for a scope that moved on (UNAVAILABLE, "retry with the same id") is retried, as a client does.
            await Parallel.ForEachAsync(wave, async (id, _) =>
            {
                for (var attempt = 0; ; attempt++)
                {
                    var released = await admission.ReleaseAsync(id);
                    if (released.IsSuccess) break;
                    Assert.True(attempt < 20, released.Failure!.Message);
                }
            });
            stop.Cancel();
            await reloading;

            foreach (var scope in new[] { "tenant/" + name, "team/" + name })
            {
                var status = (await budgets.GetAsync(scope)).Value!;
                var stored = await silo.Store.ReadCountersAsync(scope, 0, CancellationToken.None);
                Assert.True((status.HeldNanos, status.OpenHolds) == (stored.HeldNanos, stored.OpenHolds),
                    $"{scope}: {status.HeldNanos} held in {status.OpenHolds} holds in memory, {stored.HeldNanos} in {stored.OpenHolds} in the store");
            }
        }
        var last = (await budgets.GetAsync("team/" + name)).Value!;
        Assert.Equal((0L, 0), (last.HeldNanos, last.OpenHolds));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
