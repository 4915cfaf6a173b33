using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace BudgetGrains.Grains.Tests;

/// <summary>
/// A Check on the silo of a scope's activation reads the figures the scope published at the end of its last call
/// (docs/decisions/0051). These tests hold it to the grain's own answer after every kind of change, and to asking the
/// grain wherever the figures cannot say (a rate limit, a period due to roll, a scope not active here).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ScopeViewTests(ClusterFixture fixture)
{
    private readonly AdmissionApi _viaGrains = new(fixture.Grains, PriceCatalog.Empty);
    private ScopeActivations Views => fixture.SiloServices.GetRequiredService<ScopeActivations>();
    private AdmissionApi ViaViews => new(fixture.Grains, PriceCatalog.Empty, localScopes: Views, clock: ClusterFixture.Clock);

    [Fact]
    public async Task AfterEveryKindOfChangeTheFiguresAnswerAsTheGrainDoes()
    {
        var name = Unique("view");
        var (tenant, team) = ("tenant/" + name, "team/" + name);
        await SetAsync(tenant, 10_000, [50, 80]);
        await SetAsync(team, 4_000, [25, 90]);
        var attribution = new Attribution(Tenant: name, Team: name);
        var random = new Random(20261202);
        var open = new List<string>();

        for (var step = 0; step < 200; step++)
        {
            switch (random.Next(8))
            {
                case 0 or 1 or 2:
                    var id = $"{name}-{step}";
                    if ((await _viaGrains.ReserveAsync(Reserve(id, attribution, random.Next(1, 900)))).Value!.Admitted) open.Add(id);
                    break;
                case 3 when open.Count > 0:
                    await _viaGrains.CommitAsync(new CommitCommand(Take(open, random), random.Next(0, 1_200), null, ""));
                    break;
                case 4 when open.Count > 0:
                    await _viaGrains.ReleaseAsync(Take(open, random));
                    break;
                case 5:
                    await fixture.Grains.GetGrain<IScopeGrain>(random.Next(2) == 0 ? team : tenant).SetFrozenAsync(random.Next(3) == 0);
                    break;
                case 6:
                    await SetAsync(team, random.Next(0, 3) * 3_000, [25, 90]);
                    break;
                case 7:
                    if (random.Next(2) == 0) await fixture.Grains.GetGrain<IScopeGrain>(team).ResetPeriodAsync();
                    else await fixture.Grains.GetGrain<IScopeGrain>(team).DeleteBudgetAsync();
                    break;
            }
            foreach (var amount in new long[] { 0, 1, random.Next(1, 5_000), 4_000, 10_000 })
            {
                foreach (var scope in new[] { team, tenant })
                {
                    var fromFigures = Views.Check(scope, amount, Now());
                    Assert.True(fromFigures is not null, $"step {step}: {scope} published no figures");
                    AssertSame(await fixture.Grains.GetGrain<IScopeGrain>(scope).CheckAsync(amount, 0, []), fromFigures, $"step {step}, {scope}, {amount}");
                }
                var check = new CheckCommand(attribution, amount, null, new TaskPosition(0, false));
                Assert.Equal((await _viaGrains.CheckAsync(check)).Value, (await ViaViews.CheckAsync(check)).Value);
            }
        }
    }

    [Fact]
    public async Task ARateLimitAMeterLimitADuePeriodOrACollectedScopeIsAskedOfTheGrain()
    {
        var name = Unique("asks");
        var scope = "team/" + name;
        await SetAsync(scope, 1_000, [], requestsPerMinute: 60);
        Assert.Null(Views.Check(scope, 1, Now()));
        await fixture.Grains.GetGrain<IScopeGrain>(scope).SetBudgetAsync(new BudgetUpdate(
            new BudgetSettings(scope, 1_000, BudgetPeriod.None, [], "", false, "USD", MeterLimits: [new MeterLimit("gpu_seconds", 10)]), BudgetFields.All));
        Assert.Null(Views.Check(scope, 1, Now()));

        await SetAsync(scope, 1_000, [], period: BudgetPeriod.Hour);
        Assert.NotNull(Views.Check(scope, 1, Now()));
        ClusterFixture.Clock.Advance(TimeSpan.FromHours(1));
        Assert.Null(Views.Check(scope, 1, Now()));
        // The grain rolls the period, then publishes again.
        await fixture.Grains.GetGrain<IScopeGrain>(scope).CheckAsync(1, 0, []);
        Assert.NotNull(Views.Check(scope, 1, Now()));

        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Null(Views.Check(scope, 1, Now()));
        var check = new CheckCommand(new Attribution(Team: name), 600, null, new TaskPosition(0, false));
        Assert.Equal((true, 1_000L), ((await ViaViews.CheckAsync(check)).Value!.Admitted, (await ViaViews.CheckAsync(check)).Value!.RemainingNanos));
        Assert.NotNull(Views.Check(scope, 1, Now()));
    }

    private static void AssertSame(ScopeAnswer expected, ScopeAnswer? actual, string where)
    {
        Assert.NotNull(actual);
        Assert.True(expected with { CrossedThresholds = [] } == actual with { CrossedThresholds = [] }, $"{where}: {expected} != {actual}");
        Assert.Equal(expected.CrossedThresholds, actual.CrossedThresholds);
    }

    private static string Take(List<string> open, Random random)
    {
        var i = random.Next(open.Count);
        var id = open[i];
        open.RemoveAt(i);
        return id;
    }

    private static long Now() => ClusterFixture.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static ReserveCommand Reserve(string requestId, Attribution attribution, long estimateNanos) =>
        new(requestId, attribution, estimateNanos, null, new TaskPosition(0, false), 0);

    private Task SetAsync(string scope, long limitNanos, int[] thresholds, BudgetPeriod period = BudgetPeriod.None, long requestsPerMinute = 0) =>
        fixture.Grains.GetGrain<IScopeGrain>(scope).SetBudgetAsync(new BudgetUpdate(
            new BudgetSettings(scope, limitNanos, period, thresholds, "", false, "USD", requestsPerMinute, 0), BudgetFields.All));
}
