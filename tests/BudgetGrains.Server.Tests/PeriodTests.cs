using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using Grpc.Core;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>
/// Budget periods on UTC calendar boundaries: counters reset at the boundary, open holds carry over, the closed period
/// is kept as history, a reset closes the period on demand, and I1/I2 hold per period across a boundary crossed under load.
/// </summary>
public sealed class PeriodTests : IAsyncLifetime
{
    private const long Dollar = 1_000_000_000;

    private readonly SteppedClock _clock = new();
    private OwnSilo _silo = null!;

    /// <summary>The first instant of next month, UTC: the boundary the tests cross.</summary>
    private static DateTimeOffset NextMonth
    {
        get
        {
            var now = DateTimeOffset.UtcNow;
            return new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        }
    }

    public async Task InitializeAsync()
    {
        _silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("periods"), _clock);
        // An hour before the boundary.
        _clock.Advance(NextMonth.AddHours(-1) - _clock.GetUtcNow());
    }

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task AtTheMonthBoundarySpentResetsOpenHoldsCarryOverAndTheClosedMonthIsHistory()
    {
        var team = "team/" + Build.UniqueKey("month");
        var status = await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = team, LimitNanos = 10 * Dollar, Period = Period.Month });
        var thisMonth = NextMonth.AddMonths(-1).ToUnixTimeMilliseconds();
        Assert.Equal((thisMonth, NextMonth.ToUnixTimeMilliseconds()), (status.PeriodStartUnixMs, status.PeriodEndUnixMs));
        var attribution = new Attribution { Team = team["team/".Length..] };

        await CommitAsync(attribution, 6 * Dollar);
        var open = await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 3 * Dollar, holdTtlMs: 3_600_000));
        Assert.Equal(Decision.Denied, (await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 2 * Dollar))).Decision);

        _clock.Advance(TimeSpan.FromHours(2));

        status = await _silo.Management.StatusAsync(team);
        Assert.Equal((0L, 3 * Dollar, 1), (status.SpentNanos, status.HeldNanos, status.OpenHolds));
        Assert.Equal(NextMonth.ToUnixTimeMilliseconds(), status.PeriodStartUnixMs);
        Assert.Equal(NextMonth.AddMonths(1).ToUnixTimeMilliseconds(), status.PeriodEndUnixMs);
        // The carried hold still counts: 3 held + 7 = the limit; one nano more is denied.
        Assert.Equal(Decision.Admitted, (await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 7 * Dollar))).Decision);
        Assert.Equal(Decision.Denied, (await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 1))).Decision);

        // The hold reserved last month is committed this month: the spend counts in the month it was committed.
        await _silo.Admission.CommitAsync(new CommitRequest { ReservationId = open.ReservationId, ActualNanos = 2 * Dollar });
        Assert.Equal(2 * Dollar, (await _silo.Management.StatusAsync(team)).SpentNanos);

        var history = await _silo.Management.ListPeriodsAsync(new ListPeriodsRequest { Scope = team });
        var closed = Assert.Single(history.Periods);
        Assert.Equal((thisMonth, NextMonth.ToUnixTimeMilliseconds(), 6 * Dollar, 1L, false, 10 * Dollar, Period.Month),
            (closed.StartUnixMs, closed.EndUnixMs, closed.SpentNanos, closed.Commits, closed.Reset, closed.LimitNanos, closed.Period));
        Assert.Equal(1, closed.Denials);

        await AssertSpentEqualsLedgerPerPeriodAsync();
    }

    [Fact]
    public async Task ResetClosesThePeriodNowKeepsHoldsAndTheClosedPeriodKeepsItsUsage()
    {
        var feature = Build.UniqueKey("reset");
        await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "feature/" + feature, LimitNanos = 10 * Dollar });
        var attribution = new Attribution { Feature = feature, Labels = { ["model"] = "m-1" } };
        await CommitAsync(attribution, 4 * Dollar);
        await _silo.Admission.ReserveAsync(Build.Reserve(attribution, Dollar));

        var reset = await _silo.Management.ResetBudgetAsync(new ResetBudgetRequest { Scope = "feature/" + feature });
        Assert.Equal((0L, Dollar, 1, 0L), (reset.SpentNanos, reset.HeldNanos, reset.OpenHolds, reset.PeriodEndUnixMs));
        var again = await _silo.Management.ResetBudgetAsync(new ResetBudgetRequest { Scope = "feature/" + feature });
        Assert.True(again.PeriodStartUnixMs > reset.PeriodStartUnixMs, "two resets make two periods");

        var history = (await _silo.Management.ListPeriodsAsync(new ListPeriodsRequest { Scope = "feature/" + feature })).Periods;
        Assert.Equal([0L, 4 * Dollar], history.Select(p => p.SpentNanos).ToArray());
        Assert.All(history, p => Assert.True(p.Reset));
        var first = history[1];
        var usage = await _silo.Management.GetUsageAsync(new GetUsageRequest { Scope = "feature/" + feature, Closed = true, PeriodStartUnixMs = first.StartUnixMs, GroupBy = "model" });
        Assert.Equal((4 * Dollar, first.EndUnixMs), (usage.Total.SpentNanos, usage.PeriodEndUnixMs));
        Assert.Equal(("m-1", 4 * Dollar), (Assert.Single(usage.Rows).Key, usage.Rows[0].SpentNanos));
        await AssertSpentEqualsLedgerPerPeriodAsync();
    }

    [Fact]
    public async Task ChangingThePeriodTakesEffectAtOnceWithoutResettingSpend()
    {
        var budget = Build.UniqueKey("change");
        var scope = "budget/" + budget;
        await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 10 * Dollar });
        await CommitAsync(new Attribution { Budgets = { budget } }, 5 * Dollar);

        var daily = await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 8 * Dollar, Period = Period.Day });
        Assert.Equal((5 * Dollar, Period.Day, 0L), (daily.SpentNanos, daily.Period, daily.PeriodStartUnixMs));
        var tomorrow = new DateTimeOffset(_clock.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero).AddDays(1);
        Assert.Equal(tomorrow.ToUnixTimeMilliseconds(), daily.PeriodEndUnixMs);

        // A scope that counted nothing yet starts its first period at the calendar boundary.
        var fresh = await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/" + budget, LimitNanos = Dollar, Period = Period.Week });
        var monday = tomorrow.AddDays(-1).AddDays(-(((int)tomorrow.AddDays(-1).DayOfWeek + 6) % 7));
        Assert.Equal((monday.ToUnixTimeMilliseconds(), monday.AddDays(7).ToUnixTimeMilliseconds()), (fresh.PeriodStartUnixMs, fresh.PeriodEndUnixMs));
    }

    [Fact]
    public async Task ABoundaryCrossedUnderConcurrentLoadKeepsI1AndI2PerPeriod()
    {
        var chain = Chain.Unique("period-load");
        await chain.CreateAsync(_silo.Management, generous: 1_000 * Dollar);
        // Hourly and tight on the team: each hour admits at most 40 units.
        await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest
            { Scope = chain.TeamScope, LimitNanos = 40_000, Period = Period.Hour, Parent = chain.CostCenterScope });
        var admitted = new ConcurrentBag<(long At, long Estimate)>();
        var boundaryCrossed = 0;

        await Task.WhenAll(Enumerable.Range(0, 12).Select(caller => Task.Run(async () =>
        {
            var random = new Random(caller);
            for (var i = 0; i < 30; i++)
            {
                if (caller == 0 && i == 15 && Interlocked.Exchange(ref boundaryCrossed, 1) == 0) _clock.Advance(TimeSpan.FromHours(1));
                var estimate = random.Next(500, 3_000);
                var reserve = await _silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, estimate));
                if (reserve.Decision != Decision.Admitted) continue;
                admitted.Add((_clock.GetUtcNow().ToUnixTimeMilliseconds(), estimate));
                if (random.Next(3) == 0) await _silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = reserve.ReservationId });
                else await _silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = random.Next(0, estimate + 1) });
            }
        })));

        var team = await _silo.Management.StatusAsync(chain.TeamScope);
        Assert.Equal((0L, 0), (team.HeldNanos, team.OpenHolds));
        var history = (await _silo.Management.ListPeriodsAsync(new ListPeriodsRequest { Scope = chain.TeamScope })).Periods;
        Assert.Single(history);
        // I1 per period: commits never exceed their estimates here, so no period of the team spent more than its limit.
        Assert.All(history.Select(p => p.SpentNanos).Append(team.SpentNanos), spent => Assert.InRange(spent, 0, 40_000));
        Assert.True(admitted.Count > 0);
        await AssertSpentEqualsLedgerPerPeriodAsync();
    }

    [Fact]
    public async Task PeriodsAndHistorySurviveARestart()
    {
        var team = "team/" + Build.UniqueKey("restart");
        await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = team, LimitNanos = 10 * Dollar, Period = Period.Month });
        await CommitAsync(new Attribution { Team = team["team/".Length..] }, 3 * Dollar);
        _clock.Advance(TimeSpan.FromHours(2));
        await CommitAsync(new Attribution { Team = team["team/".Length..] }, Dollar);
        var before = await _silo.Management.StatusAsync(team);

        await _silo.RestartAsync();

        Assert.Equal(before, await _silo.Management.StatusAsync(team));
        var history = Assert.Single((await _silo.Management.ListPeriodsAsync(new ListPeriodsRequest { Scope = team })).Periods);
        Assert.Equal(3 * Dollar, history.SpentNanos);
        await AssertSpentEqualsLedgerPerPeriodAsync();
    }

    [Fact]
    public async Task UsageGroupsByChildModelOutcomeAndLabelAndPages()
    {
        var key = Build.UniqueKey("usage");
        var team = "team/" + key;
        await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = team, Period = Period.Month });
        foreach (var child in new[] { "feature/a-" + key, "feature/b-" + key, "agent/x-" + key })
            await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = child, Parent = team });

        await CommitAsync(new Attribution { Feature = "a-" + key, Labels = { ["model"] = "gpt-x", ["environment"] = "prod" } }, 5, "resolved");
        await CommitAsync(new Attribution { Feature = "a-" + key, Labels = { ["model"] = "claude-y" } }, 3, "failed");
        await CommitAsync(new Attribution { Feature = "b-" + key, Agent = "x-" + key, Labels = { ["model"] = "gpt-x" } }, 2, "resolved");

        async Task<Dictionary<string, long>> By(string groupBy)
        {
            var report = await _silo.Management.GetUsageAsync(new GetUsageRequest { Scope = team, GroupBy = groupBy });
            Assert.Equal((10L, 3L), (report.Total.SpentNanos, report.Total.Commits));
            return report.Rows.ToDictionary(r => r.Key, r => r.SpentNanos);
        }

        // A call through both a feature and an agent of the team shows under each child.
        Assert.Equal(new Dictionary<string, long> { ["feature/a-" + key] = 8, ["feature/b-" + key] = 2, ["agent/x-" + key] = 2 }, await By("child"));
        Assert.Equal(new Dictionary<string, long> { ["gpt-x"] = 7, ["claude-y"] = 3 }, await By("model"));
        Assert.Equal(new Dictionary<string, long> { ["resolved"] = 7, ["failed"] = 3 }, await By("outcome"));
        Assert.Equal(new Dictionary<string, long> { ["prod"] = 5, [""] = 5 }, await By("environment"));

        var first = await _silo.Management.GetUsageAsync(new GetUsageRequest { Scope = team, GroupBy = "child", PageSize = 2 });
        var second = await _silo.Management.GetUsageAsync(new GetUsageRequest { Scope = team, GroupBy = "child", PageSize = 2, PageToken = first.NextPageToken });
        Assert.Equal(["feature/a-" + key, "agent/x-" + key, "feature/b-" + key], first.Rows.Concat(second.Rows).Select(r => r.Key).ToArray());
        Assert.Equal("", second.NextPageToken);

        var bad = await Assert.ThrowsAsync<RpcException>(() => _silo.Management.GetUsageAsync(new GetUsageRequest { Scope = team, GroupBy = "user" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => _silo.Management.GetUsageAsync(new GetUsageRequest { Scope = team, PeriodStartUnixMs = 42 }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    private async Task CommitAsync(Attribution attribution, long nanos, string outcome = "")
    {
        var reserve = await _silo.Admission.ReserveAsync(Build.Reserve(attribution, nanos));
        Assert.Equal(Decision.Admitted, reserve.Decision);
        await _silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = nanos, Outcome = outcome });
    }

    /// <summary>I2 per period: each (scope, period)'s stored spent equals the ledger's actuals counted in that period.</summary>
    private async Task AssertSpentEqualsLedgerPerPeriodAsync()
    {
        var spent = await _silo.Silo.Store.SpentByPeriodAsync(CancellationToken.None);
        var ledger = await _silo.Silo.Store.SumLedgerByPeriodAsync(CancellationToken.None);
        Assert.Equal(ledger.Where(e => e.Value != 0).OrderBy(e => e.Key).ToList(), spent.Where(e => e.Value != 0).OrderBy(e => e.Key).ToList());
    }
}
