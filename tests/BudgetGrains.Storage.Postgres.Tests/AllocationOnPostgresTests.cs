using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>Shared-cost allocation on a real silo with Storage=postgres, over gRPC: a split with a remainder that adds up
/// exactly, the unallocated part, a re-import that replaces, a refused import that changes nothing, and the costs still
/// there for a silo started again on the same database.</summary>
[Collection(PostgresCollection.Name)]
public sealed class AllocationOnPostgresTests(PostgresFixture postgres) : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-pg-allocation-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task AnAllocationAddsUpExactlyReplacesOnReimportAndSurvivesARestart()
    {
        var options = new SiloOptions
        {
            Listen = "127.0.0.1:0", Http = "none", DataDir = _dataDir, Storage = "postgres", PostgresConnectionString = await postgres.NewDatabaseAsync(),
            StatisticsInterval = TimeSpan.Zero, DefaultPricesFile = "",
        };
        var today = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var cost = new SharedCost { Pool = "gpu", PeriodStartUnixMs = today, PeriodEndUnixMs = today + 86_400_000, AmountNanos = 100, Driver = "spend", Dimension = "tenant" };
        var report = new GetAllocationRequest { Dimension = "tenant", FromUnixMs = today };

        await using (var silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning)))
        {
            using var channel = GrpcChannel.ForAddress(silo.Address);
            var (admission, management) = (new AdmissionClient(channel), new ManagementClient(channel));
            foreach (var (tenant, nanos) in new[] { ("a", 1L), ("b", 1L), ("c", 1L), ("", 3L) })
            {
                var attribution = tenant.Length > 0 ? new Attribution { Tenant = tenant } : new Attribution { Feature = "batch" };
                var hold = await admission.ReserveAsync(new ReserveRequest { RequestId = "r-" + tenant, Attribution = attribution, EstimateNanos = nanos });
                await admission.CommitAsync(new CommitRequest { ReservationId = hold.ReservationId, ActualNanos = nanos });
            }
            await management.ImportSharedCostsAsync(new ImportSharedCostsRequest { Costs = { cost } });

            // 100 nanos by spend 1 / 1 / 1 / 3 (of 6): 16 / 16 / 16 / 50 leave 2: remainders 4 / 4 / 4 / 0 give them to a and b.
            var split = await management.GetAllocationAsync(report);
            Assert.Equal([("tenant/a", 17L), ("tenant/b", 17L), ("tenant/c", 16L), ("unallocated", 50L)],
                split.Rows.Select(r => (r.Scope, r.Figures.Where(f => f.Source == "gpu").Sum(f => f.AmountNanos))));
            Assert.Equal((50L, 50L), (split.Pools[0].AllocatedNanos, split.Pools[0].UnallocatedNanos));

            cost.AmountNanos = 7;
            Assert.Equal(1, (await management.ImportSharedCostsAsync(new ImportSharedCostsRequest { Costs = { cost } })).Replaced);
            var refused = await Assert.ThrowsAsync<RpcException>(() => management.ImportSharedCostsAsync(new ImportSharedCostsRequest
            {
                Costs = { new SharedCost(cost) { Pool = "other" }, new SharedCost(cost) { PeriodEndUnixMs = today + 2 * 86_400_000 } },
            }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        }

        await using (var silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning)))
        {
            using var channel = GrpcChannel.ForAddress(silo.Address);
            var again = await new ManagementClient(channel).GetAllocationAsync(report);
            var pool = Assert.Single(again.Pools);
            Assert.Equal(("gpu", 7L), (pool.Cost.Pool, pool.Cost.AmountNanos));
            Assert.Equal(7, pool.AllocatedNanos + pool.UnallocatedNanos);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
