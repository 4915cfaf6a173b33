using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Alerts;

/// <summary>ListAlerts, AckAlert and WatchAlerts against the shared silo: paging, filters, idempotent acknowledgement,
/// replay then live streaming, and clear errors for bad input.</summary>
[Collection(SiloCollection.Name)]
public sealed class AlertsApiTests(SiloFixture fixture)
{
    private const long Dollar = 1_000_000_000;
    private readonly AlertsClient _alerts = new(fixture.Channel);

    [Fact]
    public async Task ListAlertsPagesNewestFirst()
    {
        var team = await TeamWithAlertsAsync("paging", 10, 20, 30, 40, 50);

        var ids = new List<string>();
        var pages = 0;
        var request = new ListAlertsRequest { ScopePrefix = team, PageSize = 2 };
        do
        {
            var page = await fixture.Management.ListAlertsAsync(request);
            Assert.True(page.Alerts.Count == 2 || page.NextPageToken.Length == 0, "only the last page may be short");
            ids.AddRange(page.Alerts.Select(a => a.Id));
            request.PageToken = page.NextPageToken;
            pages++;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(3, pages);
        Assert.Equal(5, ids.Count);
        Assert.Equal(ids.OrderByDescending(long.Parse), ids);
        var all = (await fixture.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = team })).Alerts;
        Assert.Equal([50, 40, 30, 20, 10], all.Select(a => a.ThresholdPercent));
        Assert.All(all, a => Assert.Equal(team, a.Scope));
    }

    [Fact]
    public async Task AckAlertRecordsWhoAndWhenOnceAndListFiltersAcknowledged()
    {
        var team = await TeamWithAlertsAsync("ack", 50, 80);
        var alerts = (await fixture.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = team })).Alerts;
        var (newest, oldest) = (alerts[0], alerts[1]);
        Assert.False(oldest.Acknowledged);

        var acked = await fixture.Management.AckAlertAsync(new AckAlertRequest { Id = oldest.Id, By = "alice@example.com" });
        var again = await fixture.Management.AckAlertAsync(new AckAlertRequest { Id = oldest.Id, By = "bob@example.com" });

        Assert.True(acked.Acknowledged);
        Assert.Equal("alice@example.com", acked.AcknowledgedBy);
        Assert.True(acked.AcknowledgedAtUnixMs > 0);
        Assert.Equal((acked.Id, acked.AcknowledgedBy, acked.AcknowledgedAtUnixMs), (again.Id, again.AcknowledgedBy, again.AcknowledgedAtUnixMs));
        var listed = (await fixture.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = team })).Alerts.Single(a => a.Id == oldest.Id);
        Assert.Equal("alice@example.com", listed.AcknowledgedBy);
        Assert.Equal(acked.AcknowledgedAtUnixMs, listed.AcknowledgedAtUnixMs);
        var unacknowledged = await fixture.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = team, UnacknowledgedOnly = true });
        Assert.Equal([newest.Id], unacknowledged.Alerts.Select(a => a.Id));
    }

    [Theory]
    [InlineData("", StatusCode.InvalidArgument)]
    [InlineData("abc", StatusCode.InvalidArgument)]
    [InlineData("-1", StatusCode.InvalidArgument)]
    [InlineData("0", StatusCode.InvalidArgument)]
    [InlineData("1.5", StatusCode.InvalidArgument)]
    [InlineData("99999999999999999999", StatusCode.InvalidArgument)]
    [InlineData("9223372036854775807", StatusCode.NotFound)]
    public async Task AckAlertRejectsMalformedAndUnknownIds(string id, StatusCode expected)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => fixture.Management.AckAlertAsync(new AckAlertRequest { Id = id, By = "x" }).ResponseAsync);
        Assert.Equal(expected, e.StatusCode);
    }

    [Fact]
    public async Task BadListAndAckRequestsSayWhatIsWrongAndChangeNothing()
    {
        var team = await TeamWithAlertsAsync("bad", 50);
        var alert = (await fixture.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = team })).Alerts.Single();

        var tooLongBy = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Management.AckAlertAsync(new AckAlertRequest { Id = alert.Id, By = new string('x', 257) }).ResponseAsync);
        var badPage = await Assert.ThrowsAsync<RpcException>(() => fixture.Management.ListAlertsAsync(new ListAlertsRequest { PageToken = "nope" }).ResponseAsync);
        var bigPage = await Assert.ThrowsAsync<RpcException>(() => fixture.Management.ListAlertsAsync(new ListAlertsRequest { PageSize = 1001 }).ResponseAsync);
        var longPrefix = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = new string('t', 300) }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, "by is 257 characters; the limit is 256"), (tooLongBy.StatusCode, tooLongBy.Status.Detail));
        Assert.Equal((StatusCode.InvalidArgument, "page_token is not one this server gave out"), (badPage.StatusCode, badPage.Status.Detail));
        Assert.Equal(StatusCode.InvalidArgument, bigPage.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, longPrefix.StatusCode);
        Assert.False((await fixture.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = team })).Alerts.Single().Acknowledged);
    }

    [Fact]
    public async Task WatchAlertsReplaysThenStreamsLiveAlerts()
    {
        var team = await TeamWithAlertsAsync("watch", 50, 80);
        await fixture.Management.SetBudgetAsync(team, 100 * Dollar, thresholds: [50, 80, 100]);
        var replayed = (await fixture.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = team })).Alerts.Reverse().ToList();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = new List<Alert>();

        await foreach (var alert in _alerts.WatchAlertsAsync(new WatchAlertsRequest { ScopePrefix = team, AfterId = "0" }, new CallOptions(cancellationToken: stop.Token)))
        {
            received.Add(alert);
            // Replay done: this one is persisted while the stream is open.
            if (received.Count == 2) await fixture.Admission.SpendAsync(team, 20 * Dollar);
            if (received.Count == 3) break;
        }

        Assert.Equal(replayed.Select(a => a.Id), received.Take(2).Select(a => a.Id));
        Assert.Equal(replayed.Select(a => a.Message), received.Take(2).Select(a => a.Message));
        Assert.Equal(100, received[2].ThresholdPercent);
        Assert.Equal(team, received[2].Scope);
        Assert.Equal($"{team} spent $100.00 of $100.00 (100%)", received[2].Message);
        Assert.True(long.Parse(received[2].Id) > long.Parse(received[1].Id));
    }

    [Fact]
    public async Task WatchAlertsWithoutAfterIdStartsWithAlertsFiredFromThen()
    {
        var prefix = "team/" + Build.UniqueKey("watch-new");
        await ScopeWithAlertsAsync(prefix, 50);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stream = _alerts.WatchAlertsAsync(new WatchAlertsRequest { ScopePrefix = prefix }, new CallOptions(cancellationToken: stop.Token));
        var first = Task.Run(async () =>
        {
            await foreach (var alert in stream) return alert;
            return null;
        });

        // When the stream starts is not observable, so keep firing alerts on new scopes under the prefix until one arrives.
        var fired = new List<string>();
        for (var i = 0; !first.IsCompleted && i < 100; i++)
        {
            fired.Add(await ScopeWithAlertsAsync($"{prefix}-{i}", 50));
            await Task.WhenAny(first, Task.Delay(500));
        }

        var alert = await first;
        Assert.NotNull(alert);
        Assert.Contains(alert.Scope, fired);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("-3")]
    public async Task WatchAlertsRejectsAMalformedAfterId(string afterId)
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in _alerts.WatchAlertsAsync(new WatchAlertsRequest { AfterId = afterId })) { }
        });
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    /// <summary>A team of its own with a budget of $100 and the given thresholds, and one commit that reaches all of them.</summary>
    private Task<string> TeamWithAlertsAsync(string name, params int[] thresholds) => ScopeWithAlertsAsync("team/" + Build.UniqueKey(name), thresholds);

    private async Task<string> ScopeWithAlertsAsync(string team, params int[] thresholds)
    {
        await fixture.Management.SetBudgetAsync(team, 100 * Dollar, thresholds: thresholds);
        await fixture.Admission.SpendAsync(team, thresholds.Max() * Dollar);
        return team;
    }
}

internal static class SpendExtensions
{
    /// <summary>Reserves and commits <paramref name="nanos"/> on a team scope ("team/key").</summary>
    public static async Task SpendAsync(this AdmissionClient admission, string teamScope, long nanos)
    {
        var reserve = await admission.ReserveAsync(Build.Reserve(new Attribution { Team = teamScope["team/".Length..] }, nanos));
        Assert.Equal(Decision.Admitted, reserve.Decision);
        await admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = nanos, Outcome = "ok" });
    }
}
