using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Alerts;

/// <summary>
/// VELOCITY and FORECAST alerts (docs/decisions/0009-alerts-and-anomalies.md) on a clock the test moves by hand, so
/// rates and projections are exact: each fires when its rule says, at most once per period, and not before the rule has
/// enough history.
/// </summary>
public sealed class AnomalyTests : IAsyncLifetime
{
    private const long Dollar = 1_000_000_000;
    private const long Cents5 = 50_000_000;

    /// <summary>A Monday in March 2031, mid-minute, so no spend straddles a minute boundary.</summary>
    private readonly ManualClock _clock = new(new DateTimeOffset(2031, 3, 10, 12, 0, 30, TimeSpan.Zero));
    private OwnSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await OwnSilo.StartAsync(OwnSilo.FastRetryOptions(), _clock);

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task VelocityFiresOnceWhenTheLastMinutesRunFarAboveTheScopesOwnBaseline()
    {
        var team = Build.UniqueKey("runaway");
        await _silo.Management.SetBudgetAsync("team/" + team, 0);
        var attribution = new Attribution { Team = team };
        // 40 minutes at 5 cents a minute: steady, never an anomaly.
        for (var minute = 0; minute < 40; minute++)
        {
            await _silo.SpendAsync(attribution, Cents5);
            _clock.Advance(TimeSpan.FromMinutes(1));
        }
        Assert.Empty(await _silo.AlertsAsync("team/" + team));

        // A loop burns $6 in a minute: the last 5 minutes average $1.24/min against a baseline of $0.05/min.
        await _silo.SpendAsync(attribution, 6 * Dollar);
        await _silo.SpendAsync(attribution, 6 * Dollar);

        var alert = Assert.Single(await _silo.AlertsAsync("team/" + team));
        Assert.Equal(AlertKind.Velocity, alert.Kind);
        Assert.Equal(1_240_000_000, alert.VelocityNanosPerMinute);
        Assert.Equal(Cents5, alert.BaselineNanosPerMinute);
        Assert.Equal(8 * Dollar, alert.SpentNanos);
        Assert.Equal(0, alert.ThresholdPercent);
        Assert.Equal($"team/{team} is spending $1.24/min, over 10x its recent $0.05/min (spent $8.00)", alert.Message);
    }

    [Fact]
    public async Task VelocityFiresOncePerDayOnABudgetWithoutAPeriod()
    {
        var team = Build.UniqueKey("daily");
        await _silo.Management.SetBudgetAsync("team/" + team, 0);
        var attribution = new Attribution { Team = team };

        async Task SteadyThenBurstAsync()
        {
            for (var minute = 0; minute < 40; minute++)
            {
                await _silo.SpendAsync(attribution, Cents5);
                _clock.Advance(TimeSpan.FromMinutes(1));
            }
            await _silo.SpendAsync(attribution, 6 * Dollar);
            await _silo.SpendAsync(attribution, 6 * Dollar);
        }

        await SteadyThenBurstAsync();
        // The loop keeps running the same day: no second alert.
        _clock.Advance(TimeSpan.FromMinutes(2));
        await _silo.SpendAsync(attribution, 6 * Dollar);
        var first = Assert.Single(await _silo.AlertsAsync("team/" + team));
        Assert.Equal(new DateTimeOffset(2031, 3, 10, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), first.PeriodStartUnixMs);

        // The next day it is news again.
        _clock.Advance(TimeSpan.FromDays(1));
        await SteadyThenBurstAsync();
        var alerts = await _silo.AlertsAsync("team/" + team);
        Assert.Equal(2, alerts.Count);
        Assert.Equal((AlertKind.Velocity, new DateTimeOffset(2031, 3, 11, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()),
            (alerts[0].Kind, alerts[0].PeriodStartUnixMs));
    }

    [Fact]
    public async Task VelocityWaitsForEnoughHistoryAndIgnoresSlowRatesAndSingleCalls()
    {
        var (young, cheap, single) = (Build.UniqueKey("young"), Build.UniqueKey("cheap"), Build.UniqueKey("single"));
        foreach (var team in (string[])[young, cheap, single]) await _silo.Management.SetBudgetAsync("team/" + team, 0);
        for (var minute = 0; minute < 40; minute++)
        {
            // The young scope starts spending after 20 minutes: 15 minutes of baseline when its burst comes.
            if (minute >= 20) await _silo.SpendAsync(new Attribution { Team = young }, Cents5);
            await _silo.SpendAsync(new Attribution { Team = cheap }, 1_000_000);
            // The single-call scope is quiet for the five minutes before its one expensive call.
            if (minute < 35) await _silo.SpendAsync(new Attribution { Team = single }, Cents5);
            _clock.Advance(TimeSpan.FromMinutes(1));
        }

        await _silo.SpendAsync(new Attribution { Team = young }, 20 * Dollar);
        // 50x the cheap scope's baseline of $0.001/min, but under $1/min.
        await _silo.SpendAsync(new Attribution { Team = cheap }, 250_000_000);
        // $30 in one minute is $6/min over five, 120x the baseline, but not a loop running minute after minute.
        await _silo.SpendAsync(new Attribution { Team = single }, 30 * Dollar);

        Assert.Empty(await _silo.AlertsAsync("team/" + young));
        Assert.Empty(await _silo.AlertsAsync("team/" + cheap));
        Assert.Empty(await _silo.AlertsAsync("team/" + single));
    }

    [Fact]
    public async Task ForecastFiresOncePerPeriodWhenTheLinearProjectionExceedsTheLimit()
    {
        var team = Build.UniqueKey("forecast");
        // Forward from the class's clock (March 10th): the silo's clock is also Orleans', which never goes back.
        var onTrack = Build.UniqueKey("on-track");
        _clock.Advance(new DateTimeOffset(2031, 5, 4, 0, 0, 0, TimeSpan.Zero) - _clock.GetUtcNow());
        foreach (var scope in (string[])[team, onTrack])
            await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/" + scope, LimitNanos = 100 * Dollar, Period = Period.Month });
        // Three days into May (31 days, like March) (under a fifth of it): too early to project.
        await _silo.SpendAsync(new Attribution { Team = team }, 30 * Dollar);
        Assert.Empty(await _silo.AlertsAsync("team/" + team));

        // A quarter of May gone (7.75 of 31 days): $31 spent projects to $124.
        _clock.Advance(new DateTimeOffset(2031, 5, 8, 18, 0, 0, TimeSpan.Zero) - _clock.GetUtcNow());
        await _silo.SpendAsync(new Attribution { Team = team }, 1 * Dollar);
        await _silo.SpendAsync(new Attribution { Team = team }, 1 * Dollar);
        await _silo.SpendAsync(new Attribution { Team = onTrack }, 20 * Dollar);

        var may = Assert.Single(await _silo.AlertsAsync("team/" + team));
        Assert.Equal(AlertKind.Forecast, may.Kind);
        Assert.Equal(124 * Dollar, may.ForecastNanos);
        Assert.Equal(31 * Dollar, may.SpentNanos);
        Assert.Equal(new DateTimeOffset(2031, 5, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), may.PeriodStartUnixMs);
        Assert.Equal($"team/{team} is on course to spend $124.00 of $100.00 (124%) this month (spent $31.00 so far)", may.Message);
        Assert.Empty(await _silo.AlertsAsync("team/" + onTrack));

        // June: a new period arms the forecast again (a quarter of June is 7.5 days).
        _clock.Advance(new DateTimeOffset(2031, 6, 8, 12, 0, 0, TimeSpan.Zero) - _clock.GetUtcNow());
        await _silo.SpendAsync(new Attribution { Team = team }, 30 * Dollar);

        var alerts = await _silo.AlertsAsync("team/" + team);
        Assert.Equal(2, alerts.Count);
        Assert.Equal(AlertKind.Forecast, alerts[0].Kind);
        Assert.Equal(120 * Dollar, alerts[0].ForecastNanos);
        Assert.Equal(new DateTimeOffset(2031, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), alerts[0].PeriodStartUnixMs);
    }
}
