using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests;
using BudgetGrains.Server.Tests.Alerts;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>
/// Alerts in a cluster (issue 10): three silo processes on one PostgreSQL, each configured with the same two webhook
/// sinks (two Kestrel receivers in this process, on loopback). A threshold crossed by traffic through all three silos
/// fires once and reaches each sink once, not once per silo; and when the silo holding a sink's outbox is killed with
/// kill -9 while that sink is failing, a survivor delivers the alert, once.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterAlertTests(PostgresFixture postgres, ITestOutputHelper output) : IDisposable
{
    private const long Limit = 1_000_000;
    private const long Amount = 10_000;

    /// <summary>Commits spread over the silos: 60 % of the limit, so the one threshold (50 %) is crossed once.</summary>
    private const int Commits = 60;

    private static readonly string[] Sinks = ["pager", "chat"];
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    /// <summary>After the deliveries, how long nothing more may arrive: many poll intervals of every silo's dispatcher.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(4);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "budgetgrains-cluster-alerts-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task A_threshold_crossed_through_three_silos_is_delivered_once_per_sink()
    {
        var database = await postgres.NewDatabaseAsync();
        var receivers = await Task.WhenAll(Sinks.Select(_ => WebhookReceiver.StartAsync()));
        var silos = await ClusterTests.StartClusterAsync(_root, database, SinkSettings(receivers));
        try
        {
            var channels = silos.Select(s => GrpcChannel.ForAddress(s.Address)).ToArray();
            var scope = await CrossThresholdAsync(channels);

            var alertId = await DeliveredOnceEachAsync(receivers, scope);
            Assert.All(receivers, r => Assert.All(PostsFor(r, scope), p => Assert.Equal(200, p.Status)));
            await AssertRecordedDeliveredAsync(channels[1], scope, alertId, attempts: 1);
        }
        finally
        {
            foreach (var silo in silos) silo.Dispose();
            foreach (var receiver in receivers) await receiver.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task A_sink_failing_until_its_outbox_silo_is_killed_gets_the_alert_once_from_a_survivor()
    {
        var database = await postgres.NewDatabaseAsync();
        var receivers = await Task.WhenAll(Sinks.Select(_ => WebhookReceiver.StartAsync()));
        var failing = true;
        foreach (var receiver in receivers) receiver.Answer = _ => Volatile.Read(ref failing) ? 500 : 200;
        var silos = await ClusterTests.StartClusterAsync(_root, database, SinkSettings(receivers));
        try
        {
            var channels = silos.Select(s => GrpcChannel.ForAddress(s.Address)).ToArray();
            // Every silo opens every outbox before it takes traffic; the one activation of the first sink's outbox says where.
            var victim = Assert.Single(Enumerable.Range(0, silos.Length), i => OutboxActivated(silos[i], Sinks[0]));
            output.WriteLine($"outbox of {Sinks[0]} on silo {victim}; outbox of {Sinks[1]} on silo(s) " +
                string.Join(",", Enumerable.Range(0, silos.Length).Where(i => OutboxActivated(silos[i], Sinks[1]))));
            var scope = await CrossThresholdAsync(channels);

            // Each outbox attempted the alert, failed, and recorded that (the first sink's on the silo about to die).
            var management = new ManagementClient(channels[victim]);
            Assert.True(await Eventually.HoldsAsync(async () =>
                (await management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = scope })).Alerts.SingleOrDefault() is { } alert
                && Sinks.All(sink => alert.Deliveries.Any(d => d.Sink == sink && d.Attempts >= 1 && d.LastError.Contains("500", StringComparison.Ordinal))),
                Patience), "no failed attempt recorded for both sinks");
            silos[victim].KillHard();
            var failedBeforeKill = receivers.Select(r => PostsFor(r, scope).Count).ToArray();
            Volatile.Write(ref failing, false);

            var alertId = await DeliveredOnceEachAsync(receivers, scope);
            for (var i = 0; i < receivers.Length; i++)
            {
                var posts = PostsFor(receivers[i], scope);
                output.WriteLine($"{Sinks[i]}: {string.Join(" ", posts.Select(p => p.Status))} ({failedBeforeKill[i]} before the kill)");
                // Failed attempts, then the one success, as the last post: nothing attempted after it was delivered.
                Assert.Equal(200, posts[^1].Status);
                Assert.All(posts.SkipLast(1), p => Assert.Equal(500, p.Status));
                Assert.True(posts.Count > failedBeforeKill[i], $"{Sinks[i]} got nothing after the kill");
            }
            var survivors = Enumerable.Range(0, silos.Length).Where(i => i != victim).ToArray();
            Assert.Contains(survivors, i => OutboxActivated(silos[i], Sinks[0]));
            var recorded = await AssertRecordedDeliveredAsync(channels[survivors[0]], scope, alertId, attempts: null);
            Assert.True(recorded.Single(d => d.Sink == Sinks[0]).Attempts >= 2, "the killed silo's failed attempts are not recorded");
        }
        finally
        {
            foreach (var silo in silos) silo.Dispose();
            foreach (var receiver in receivers) await receiver.DisposeAsync();
        }
    }

    /// <summary>Both sinks on every silo, with short retries and polls so that a cluster's worth of dispatchers would
    /// deliver repeats well within <see cref="Grace"/> if it delivered any.</summary>
    private static string[] SinkSettings(WebhookReceiver[] receivers) =>
    [
        .. receivers.SelectMany((r, i) => new[] { $"--BudgetGrains:Alerts:Webhooks:{i}:Url={r.Url}", $"--BudgetGrains:Alerts:Webhooks:{i}:Name={Sinks[i]}" }),
        "--BudgetGrains:Alerts:RetryInitialDelay=00:00:00.200", "--BudgetGrains:Alerts:RetryMaxDelay=00:00:01",
        "--BudgetGrains:Alerts:PollInterval=00:00:00.500", "--Logging:LogLevel:BudgetGrains.Grains.Alerts.AlertSinkGrain=Debug",
    ];

    /// <summary>A budget with one threshold, crossed by commits sent round-robin through every silo; the scope.</summary>
    private static async Task<string> CrossThresholdAsync(GrpcChannel[] channels)
    {
        var key = "alert-" + Guid.NewGuid().ToString("N")[..8];
        var scope = "team/" + key;
        var budget = new UpsertBudgetRequest { Scope = scope, LimitNanos = Limit };
        budget.ThresholdPercents.Add(50);
        await new ManagementClient(channels[0]).UpsertBudgetAsync(budget);
        var attribution = new Attribution { Tenant = key, Team = key };
        await Task.WhenAll(Enumerable.Range(0, Commits).Select(i => Task.Run(async () =>
        {
            var admission = new AdmissionClient(channels[i % channels.Length]);
            var reserve = ClusterTests.Reserve(attribution, Amount);
            Assert.Equal(Decision.Admitted, (await ClusterTests.WithRetriesAsync(() => admission.ReserveAsync(reserve).ResponseAsync)).Decision);
            var commit = new CommitRequest { ReservationId = reserve.RequestId, ActualNanos = Amount, Outcome = "ok" };
            await ClusterTests.WithRetriesAsync(() => admission.CommitAsync(commit).ResponseAsync);
        })));
        return scope;
    }

    /// <summary>Waits until every receiver took the scope's alert (a 200), then for the grace period; asserts one alert,
    /// taken once by each sink (deduplicated by the alert's id, body and header agreeing); its id.</summary>
    private static async Task<string> DeliveredOnceEachAsync(WebhookReceiver[] receivers, string scope)
    {
        foreach (var receiver in receivers)
            Assert.NotNull(await receiver.WaitForAsync(p => Scope(p) == scope && p.Status == 200, Patience));
        await Task.Delay(Grace);
        var posts = receivers.SelectMany(PostsFor(scope)).ToList();
        Assert.All(posts, p => Assert.Equal(p.AlertId, p.Body.GetProperty("id").GetString()));
        var alertId = Assert.Single(posts.Select(p => p.AlertId).Distinct());
        foreach (var receiver in receivers) Assert.Single(PostsFor(receiver, scope), p => p.Status == 200);
        return alertId;
    }

    /// <summary>ListAlerts has the one alert, delivered to each sink (after <paramref name="attempts"/> when given).</summary>
    private static async Task<IReadOnlyList<AlertDelivery>> AssertRecordedDeliveredAsync(GrpcChannel channel, string scope, string alertId,
        int? attempts)
    {
        var alerts = await new ManagementClient(channel).ListAlertsAsync(new ListAlertsRequest { ScopePrefix = scope });
        var alert = Assert.Single(alerts.Alerts);
        Assert.Equal((alertId, 50), (alert.Id, alert.ThresholdPercent));
        foreach (var sink in Sinks)
        {
            var delivery = Assert.Single(alert.Deliveries, d => d.Sink == sink);
            Assert.Equal(DeliveryState.Delivered, delivery.State);
            if (attempts is { } expected) Assert.Equal(expected, delivery.Attempts);
        }
        return alert.Deliveries;
    }

    private static bool OutboxActivated(ServerProcess silo, string sink) =>
        silo.Output.Any(line => line.Contains($"Alert sink {sink} outbox activated", StringComparison.Ordinal));

    private static string? Scope(ReceivedPost post) => post.Body.TryGetProperty("scope", out var scope) ? scope.GetString() : null;

    private static Func<WebhookReceiver, IEnumerable<ReceivedPost>> PostsFor(string scope) => r => PostsFor(r, scope);

    private static List<ReceivedPost> PostsFor(WebhookReceiver receiver, string scope) => [.. receiver.Posts.Where(p => Scope(p) == scope)];

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
