using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests;

/// <summary>Meters across a restart on one data directory: the catalog as the API left it, the usage per meter, and an
/// open hold reserved with meters committed with meters after the restart.</summary>
public sealed class MeterPersistenceTests
{
    [Fact]
    public async Task TheCatalogAndTheUsagePerMeterSurviveARestart()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("meters"));
        var chain = Chain.Unique("meters-restart");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        await silo.Management.ImportMetersAsync(new ImportMetersRequest
        {
            Meters = { Meters.Of("gpu_seconds", 500, unit: "second", asOf: "2026-11-30"), Meters.Of("egress_gb", 90_000_000, unit: "GB"), Meters.Of("tool_calls", 1) },
        });
        await silo.Management.DeleteMeterAsync(new DeleteMeterRequest { Name = "tool_calls" });
        var first = await ReserveAsync(silo, 60);
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = first.ReservationId, Meters = { Gpu(30), new MeterUsage { Meter = "egress_gb", Quantity = 2 } } });
        var open = await ReserveAsync(silo, 100);

        await silo.RestartAsync();

        var listed = await silo.Management.ListMetersAsync(new ListMetersRequest());
        Assert.Equal([Meters.Of("egress_gb", 90_000_000, unit: "GB"), Meters.Of("gpu_seconds", 500, unit: "second", asOf: "2026-11-30")], listed.Meters);
        Assert.Equal(50_000L, (await silo.Management.StatusAsync(chain.TeamScope)).HeldNanos);
        var committed = await silo.Admission.CommitAsync(new CommitRequest { ReservationId = open.ReservationId, Meters = { Gpu(70) } });
        Assert.Equal(35_000L, committed.ChargedNanos);
        var usage = await silo.Management.GetMeterUsageAsync(new GetMeterUsageRequest { Scope = chain.TeamScope });
        Assert.Equal([("egress_gb", 2L, 180_000_000L, 1L), ("gpu_seconds", 100L, 50_000L, 2L)], usage.Rows.Select(r => (r.Meter, r.Quantity, r.SpentNanos, r.Commits)));
        var status = await silo.Management.StatusAsync(chain.TeamScope);
        Assert.Equal((180_000_000L + 50_000L, 0L), (status.SpentNanos, status.HeldNanos));

        async Task<ReserveResponse> ReserveAsync(OwnSilo on, long seconds)
        {
            var reserve = Build.Reserve(chain.Attribution, 0);
            reserve.EstimateMeters.Add(Gpu(seconds));
            var answer = await on.Admission.ReserveAsync(reserve);
            Assert.Equal(Decision.Admitted, answer.Decision);
            return answer;
        }
    }

    private static MeterUsage Gpu(long seconds) => new() { Meter = "gpu_seconds", Quantity = seconds };
}
