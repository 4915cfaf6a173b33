using BudgetGrains.Contracts.V1;
using BudgetGrains.Grains;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Alerts;

/// <summary>WatchAlerts streams are bounded per silo (Limits.MaxAlertWatchers): one more is refused with a clear
/// RESOURCE_EXHAUSTED, and a stream that ends frees its place.</summary>
public sealed class AlertWatchLimitTests : IAsyncLifetime
{
    private OwnSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("watch-limit"));

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task OneStreamOverTheLimitIsRefusedAndAnEndedStreamFreesItsPlace()
    {
        // One alert to replay: a stream that received it is open on the silo.
        var team = Build.UniqueKey("watch-limit");
        await _silo.Management.SetBudgetAsync("team/" + team, 100, thresholds: [50]);
        await _silo.SpendAsync(new Attribution { Team = team }, 60);
        await _silo.AlertsWhenAsync("team/" + team, alerts => alerts.Count == 1);

        using var stopAll = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var streams = new List<(IAsyncEnumerator<Alert> Stream, CancellationTokenSource Stop)>();
        try
        {
            for (var i = 0; i < Limits.MaxAlertWatchers; i++)
            {
                var stop = CancellationTokenSource.CreateLinkedTokenSource(stopAll.Token);
                var stream = _silo.Alerts.WatchAlertsAsync(new WatchAlertsRequest { AfterId = "0" }, new CallOptions(cancellationToken: stop.Token))
                    .GetAsyncEnumerator(stop.Token);
                streams.Add((stream, stop));
                Assert.True(await stream.MoveNextAsync());
            }

            var refused = await Assert.ThrowsAsync<RpcException>(() => ProbeAsync());
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains($"{Limits.MaxAlertWatchers} alert streams are open", refused.Message);

            // The client leaves one stream: disposing it resets the HTTP/2 stream.
            await streams[0].Stop.CancelAsync();
            await EndAsync(streams[0].Stream);
            // The silo notices the cancelled stream in its own time; then a new one is taken (and runs to its deadline).
            Assert.True(await Build.EventuallyAsync(async () =>
            {
                var probe = await Record.ExceptionAsync(ProbeAsync);
                return probe is RpcException { StatusCode: StatusCode.DeadlineExceeded };
            }, TimeSpan.FromSeconds(30)), "an ended stream did not free its place");
        }
        finally
        {
            await stopAll.CancelAsync();
            foreach (var (stream, stop) in streams)
            {
                await EndAsync(stream);
                stop.Dispose();
            }
        }
    }

    private static async Task EndAsync(IAsyncEnumerator<Alert> stream)
    {
        try
        {
            await stream.DisposeAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException)
        {
            // Ended by the test.
        }
    }

    /// <summary>A new stream of new alerts only: refused at once when the silo is full, else open until its deadline.</summary>
    private async Task ProbeAsync()
    {
        var options = new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(300));
        await using var stream = _silo.Alerts.WatchAlertsAsync(new WatchAlertsRequest(), options).GetAsyncEnumerator();
        await stream.MoveNextAsync();
    }
}
