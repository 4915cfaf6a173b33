using System.Net;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Observability;

/// <summary>Tests that read exact counts of the process-wide meters: they run alone, after the parallel collections.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialMetricsCollection
{
    public const string Name = "serial metrics";
}

/// <summary>/metrics scraped around known traffic.</summary>
[Collection(SerialMetricsCollection.Name)]
public sealed class MetricsTests
{
    [Fact]
    public async Task MetricsCountExactlyTheTrafficSent()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("metrics"));
        using var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress };
        var (tenant, feature) = (Build.UniqueKey("m"), Build.UniqueKey("f"));
        await silo.Management.SetBudgetAsync("feature/" + feature, 40);
        var attribution = new Attribution { Tenant = tenant, Feature = feature };
        var before = await Scrape.TakeAsync(http);

        var held = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var reserve = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 10));
            Assert.Equal(Decision.Admitted, reserve.Decision);
            held.Add(reserve.ReservationId);
        }
        Assert.Equal(Decision.Denied, (await silo.Admission.ReserveAsync(Build.Reserve(attribution, 20))).Decision);
        Assert.Equal(Decision.Admitted, (await silo.Admission.CheckAsync(new CheckRequest { Attribution = attribution, EstimateNanos = 5 })).Decision);
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = held[0], ActualNanos = 7, Outcome = "resolved" });
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = held[1], ActualNanos = 7, Outcome = "resolved" });
        await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = held[2] });
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = "no-such-hold" }));

        var after = await Scrape.TakeAsync(http);
        const string decisions = "budgetgrains_admission_decisions_total";
        Assert.Equal(3, after.Delta(before, decisions, "rpc=\"reserve\"", "decision=\"admitted\"", "reason=\"none\""));
        Assert.Equal(1, after.Delta(before, decisions, "rpc=\"reserve\"", "decision=\"denied\"", "reason=\"budget_exhausted\""));
        Assert.Equal(4, after.Delta(before, decisions, "rpc=\"reserve\""));
        Assert.Equal(1, after.Delta(before, decisions, "rpc=\"check\"", "decision=\"admitted\""));
        Assert.Equal(1, after.Delta(before, "budgetgrains_admission_errors_total", "rpc=\"release\"", "error_type=\"NotFound\""));
        const string duration = "budgetgrains_admission_duration_seconds_count";
        Assert.Equal(4, after.Delta(before, duration, "rpc=\"reserve\""));
        Assert.Equal(2, after.Delta(before, duration, "rpc=\"commit\""));
        Assert.Equal(2, after.Delta(before, duration, "rpc=\"release\""));
        Assert.Equal(1, after.Delta(before, duration, "rpc=\"check\""));
        foreach (var kind in new[] { "tenant", "feature" })
        {
            Assert.Equal(2, after.Delta(before, "budgetgrains_commits_total", $"scope_kind=\"{kind}\""));
            Assert.Equal(14, after.Delta(before, "budgetgrains_spend_nanos_total", $"scope_kind=\"{kind}\""));
        }
        Assert.Equal(0, after.Delta(before, "budgetgrains_holds_open"));
        // Every admitted reserve, commit and release is at least one durable write of the journal.
        Assert.True(after.Delta(before, "budgetgrains_journal_batch_size_sum") >= 6);
        Assert.True(after.Delta(before, "budgetgrains_journal_flush_duration_seconds_count") >= 1);
        // Orleans' own meters are exported too.
        Assert.Contains(after.Series.Keys, k => k.StartsWith("orleans_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TenThousandScopesAddNoSeries()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("cardinality"));
        using var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress };
        var run = Build.UniqueKey("c")[..10];
        async Task TrafficAsync(int from, int count) => await Parallel.ForAsync(from, from + count, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            var attribution = new Attribution { Tenant = $"{run}-t{i}", Feature = $"{run}-f{i}", Labels = { ["model"] = $"m{i}" } };
            var reserve = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 10));
            await silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = 3, Outcome = $"o{i}" });
        });

        await TrafficAsync(0, 100);
        var warm = await Scrape.TakeAsync(http);
        await TrafficAsync(100, 10_000);
        var after = await Scrape.TakeAsync(http);

        var ours = after.Series.Keys.Where(k => k.StartsWith("budgetgrains_", StringComparison.Ordinal)).ToList();
        Assert.Equal(warm.Series.Keys.Where(k => k.StartsWith("budgetgrains_", StringComparison.Ordinal)).Order(), ours.Order());
        Assert.DoesNotContain(after.Series.Keys, k => k.Contains(run, StringComparison.Ordinal));
        Assert.Equal(10_000, after.Delta(warm, "budgetgrains_commits_total", "scope_kind=\"tenant\""));
        Assert.True(ours.Count < 200, $"{ours.Count} series");
    }

    [Fact]
    public async Task MetricsOffServesNoScrapeEndpoint()
    {
        var options = OwnSilo.NewOptions("nometrics");
        options.Telemetry.Metrics = false;
        await using var silo = await OwnSilo.StartAsync(options);
        using var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics")).StatusCode);
    }
}
