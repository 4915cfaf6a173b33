using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Alerts;

/// <summary>Threshold alerts fire exactly once per (scope, period, threshold): across silo restarts and settings
/// changes, and again in a new period; acknowledgements are durable.</summary>
public sealed class ThresholdAlertTests : IAsyncLifetime
{
    private const long Dollar = 1_000_000_000;

    /// <summary>Early in May, so that no forecast alert (a fifth of the period gone) joins the thresholds.</summary>
    private readonly ManualClock _clock = new(new DateTimeOffset(2031, 5, 2, 12, 0, 0, TimeSpan.Zero));
    private OwnSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await OwnSilo.StartAsync(OwnSilo.FastRetryOptions(), _clock);

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task ThresholdsFireOnceEachAcrossRestartsAndAgainInTheNextMonth()
    {
        var team = "team/" + Build.UniqueKey("month");
        var budget = new UpsertBudgetRequest { Scope = team, LimitNanos = 100 * Dollar, Period = Period.Month };
        await _silo.Management.UpsertBudgetAsync(budget);
        var attribution = new Attribution { Team = team["team/".Length..] };
        var may = new DateTimeOffset(2031, 5, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var june = new DateTimeOffset(2031, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

        await _silo.SpendAsync(attribution, 60 * Dollar);
        var fifty = Assert.Single(await _silo.AlertsAsync(team));
        await _silo.Management.AckAlertAsync(new AckAlertRequest { Id = fifty.Id, By = "alice" });

        await _silo.RestartAsync();
        await _silo.SpendAsync(attribution, 25 * Dollar);
        // The same settings again: the thresholds already reached do not fire twice.
        await _silo.Management.UpsertBudgetAsync(budget);

        var alerts = await _silo.AlertsAsync(team);
        Assert.Equal([(80, may), (50, may)], alerts.Select(a => (a.ThresholdPercent, a.PeriodStartUnixMs)));
        Assert.Equal(("alice", true), (alerts[1].AcknowledgedBy, alerts[1].Acknowledged));
        Assert.Equal($"{team} spent $85.00 of $100.00 (85%) this month", alerts[0].Message);

        _clock.Advance(TimeSpan.FromDays(30)); // June 1st, 12:00
        await _silo.SpendAsync(attribution, 55 * Dollar);
        await _silo.RestartAsync();
        await _silo.Management.UpsertBudgetAsync(budget);
        await _silo.SpendAsync(attribution, 1 * Dollar);

        alerts = await _silo.AlertsAsync(team);
        Assert.Equal([(50, june), (80, may), (50, may)], alerts.Select(a => (a.ThresholdPercent, a.PeriodStartUnixMs)));
        Assert.False(alerts[0].Acknowledged);
        // Each delivered to the log exactly once, whatever the restarts.
        var all = await _silo.AlertsWhenAsync(team, a => a.All(x => x.Deliveries.Any(d => d.Sink == "log" && d.State == DeliveryState.Delivered)));
        Assert.All(all, a => Assert.Equal(1, a.Deliveries.Single(d => d.Sink == "log").Attempts));
    }
}
