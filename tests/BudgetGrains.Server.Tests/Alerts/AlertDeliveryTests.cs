using BudgetGrains.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Server.Hosting;

namespace BudgetGrains.Server.Tests.Alerts;

/// <summary>
/// Alerts reach every sink at least once: real webhook receivers on loopback (one failing before it succeeds, one down
/// across a silo restart), the Slack message shape, the log, scope filters, and failures recorded where they can be seen.
/// </summary>
public sealed class AlertDeliveryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const long Dollar = 1_000_000_000;

    [Fact]
    public async Task JsonWebhookGetsEachThresholdAlertAsTheAlertMessage()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var silo = await OwnSilo.StartAsync(OwnSilo.FastRetryOptions(new WebhookOptions { Name = "ops", Url = receiver.Url.ToString() }));
        var team = Build.UniqueKey("json");
        await silo.Management.SetBudgetAsync("team/" + team, 100 * Dollar);

        await silo.SpendAsync(new Attribution { Team = team }, 80 * Dollar);

        var alerts = await silo.AlertsWhenAsync("team/" + team, a => a.Count == 2 && a.All(Delivered("ops")));
        foreach (var alert in alerts)
        {
            var post = Assert.Single(receiver.Posts, p => p.AlertId == alert.Id);
            Assert.StartsWith("application/json", post.ContentType);
            Assert.Equal(alert.Id, post.Body.GetProperty("id").GetString());
            Assert.Equal("THRESHOLD", post.Body.GetProperty("kind").GetString());
            Assert.Equal("team/" + team, post.Body.GetProperty("scope").GetString());
            Assert.Equal(alert.ThresholdPercent, post.Body.GetProperty("thresholdPercent").GetInt32());
            Assert.Equal("80000000000", post.Body.GetProperty("spentNanos").GetString());
            Assert.Equal($"team/{team} spent $80.00 of $100.00 (80%)", post.Body.GetProperty("message").GetString());
            Assert.Equal(0, post.Body.GetProperty("deliveries").GetArrayLength());
        }
        Assert.Equal([80, 50], alerts.Select(a => a.ThresholdPercent));
        var delivery = Assert.Single(alerts[0].Deliveries, d => d.Sink == "ops");
        Assert.Equal(1, delivery.Attempts);
        Assert.Equal("", delivery.LastError);
    }

    [Fact]
    public async Task WebhookThatFailsFirstGetsTheAlertAfterRetries()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = n => n <= 3 ? 500 : 200;
        await using var silo = await OwnSilo.StartAsync(OwnSilo.FastRetryOptions(new WebhookOptions { Name = "flaky", Url = receiver.Url.ToString() }));
        var team = Build.UniqueKey("flaky");
        await silo.Management.SetBudgetAsync("team/" + team, 100 * Dollar, thresholds: [50]);

        await silo.SpendAsync(new Attribution { Team = team }, 60 * Dollar);

        var alert = Assert.Single(await silo.AlertsWhenAsync("team/" + team, a => a.Count == 1 && a.All(Delivered("flaky"))));
        // Delivered is recorded after the receiver's 200, and nothing is attempted after that: these are all the attempts.
        Assert.Equal([500, 500, 500, 200], receiver.Posts.Select(p => p.Status));
        Assert.All(receiver.Posts, p => Assert.Equal(alert.Id, p.AlertId));
        var delivery = Assert.Single(alert.Deliveries, d => d.Sink == "flaky");
        Assert.Equal(4, delivery.Attempts);
        Assert.Equal("", delivery.LastError);
    }

    [Fact]
    public async Task DeliveryThatKeepsFailingIsGivenUpAndRecordedAsFailed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ => 503;
        var options = OwnSilo.FastRetryOptions(new WebhookOptions { Name = "down", Url = receiver.Url.ToString() });
        options.Alerts.MaxAttempts = 3;
        await using var silo = await OwnSilo.StartAsync(options);
        var team = Build.UniqueKey("down");
        await silo.Management.SetBudgetAsync("team/" + team, 100 * Dollar, thresholds: [50]);

        await silo.SpendAsync(new Attribution { Team = team }, 50 * Dollar);

        var alert = Assert.Single(await silo.AlertsWhenAsync("team/" + team,
            a => a.Count == 1 && a[0].Deliveries.Any(d => d.Sink == "down" && d.State == DeliveryState.Failed)));
        var delivery = Assert.Single(alert.Deliveries, d => d.Sink == "down");
        Assert.Equal(3, delivery.Attempts);
        Assert.Equal($"http://{receiver.Url.Authority} answered 503 Service Unavailable", delivery.LastError);
        Assert.Equal(3, receiver.Posts.Count);
        Assert.Contains(silo.Log.Lines, l => l.Message.Contains($"Alert {alert.Id} (team/{team}) was not delivered to down after 3 attempts", StringComparison.Ordinal));
        // The other sink is unaffected.
        Assert.Contains(alert.Deliveries, d => d.Sink == "log" && d.State == DeliveryState.Delivered);
    }

    [Fact]
    public async Task SlackWebhookGetsAMessageWithBlocks()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var silo = await OwnSilo.StartAsync(OwnSilo.FastRetryOptions(
            new WebhookOptions { Url = receiver.Url.ToString(), Format = WebhookFormat.Slack }));
        var team = Build.UniqueKey("slack");
        await silo.Management.SetBudgetAsync("team/" + team, 100 * Dollar, thresholds: [80]);

        await silo.SpendAsync(new Attribution { Team = team }, 81_500_000_000);

        var post = await receiver.WaitForAsync(_ => true, Patience);
        Assert.NotNull(post);
        var message = $"team/{team} spent $81.50 of $100.00 (81%)";
        Assert.Equal(message, post.Body.GetProperty("text").GetString());
        var blocks = post.Body.GetProperty("blocks");
        Assert.Equal(2, blocks.GetArrayLength());
        Assert.Equal("section", blocks[0].GetProperty("type").GetString());
        Assert.Equal("mrkdwn", blocks[0].GetProperty("text").GetProperty("type").GetString());
        Assert.Equal($"*Budget alert: threshold 80%*\n{message}", blocks[0].GetProperty("text").GetProperty("text").GetString());
        Assert.Equal("section", blocks[1].GetProperty("type").GetString());
        var fields = blocks[1].GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("text").GetString()).ToList();
        Assert.Equal(
            [$"*Scope*\nteam/{team}", "*Spent*\n$81.50", "*Limit*\n$100.00", "*Percent*\n81%", "*Period*\nnone", "*Threshold*\n80%"],
            fields);
        // The sink's default name hides the URL (a Slack URL is a secret).
        var alert = Assert.Single(await silo.AlertsWhenAsync("team/" + team, a => a.Count == 1 && a[0].Deliveries.Count == 2));
        Assert.Contains(alert.Deliveries, d => d.Sink.StartsWith("slack-", StringComparison.Ordinal) && !d.Sink.Contains("hook", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WebhookWithAScopePrefixGetsOnlyThoseScopes()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var silo = await OwnSilo.StartAsync(OwnSilo.FastRetryOptions(
            new WebhookOptions { Name = "tenants", Url = receiver.Url.ToString(), ScopePrefix = "tenant/" }));
        var key = Build.UniqueKey("prefix");
        await silo.Management.SetBudgetAsync("team/" + key, 10 * Dollar, thresholds: [50]);
        await silo.Management.SetBudgetAsync("tenant/" + key, 10 * Dollar, thresholds: [50]);

        await silo.SpendAsync(new Attribution { Team = key }, 5 * Dollar);
        await silo.SpendAsync(new Attribution { Tenant = key }, 5 * Dollar);

        var tenantAlert = Assert.Single(await silo.AlertsWhenAsync("tenant/" + key, a => a.Count == 1 && a.All(Delivered("tenants"))));
        // The team alert fired first; the sink's cursor moved past it without queuing it.
        var teamAlert = Assert.Single(await silo.AlertsAsync("team/" + key));
        Assert.DoesNotContain(teamAlert.Deliveries, d => d.Sink == "tenants");
        Assert.Equal([tenantAlert.Id], receiver.Posts.Select(p => p.AlertId));
    }

    [Fact]
    public async Task AlertPersistedWhileTheWebhookIsDownArrivesAfterASiloRestart()
    {
        var port = await WebhookReceiver.UnusedPortAsync();
        var url = $"http://127.0.0.1:{port}/hook";
        await using var silo = await OwnSilo.StartAsync(OwnSilo.FastRetryOptions(new WebhookOptions { Name = "later", Url = url }));
        var team = Build.UniqueKey("restart");
        await silo.Management.SetBudgetAsync("team/" + team, 100 * Dollar, thresholds: [50]);
        await silo.SpendAsync(new Attribution { Team = team }, 50 * Dollar);
        // Persisted, attempted, not delivered: nothing listens on the port.
        var pending = Assert.Single(await silo.AlertsWhenAsync("team/" + team,
            a => a.Count == 1 && a[0].Deliveries.Any(d => d.Sink == "later" && d.Attempts >= 1)));
        Assert.Equal(DeliveryState.Pending, pending.Deliveries.Single(d => d.Sink == "later").State);
        Assert.Contains("refused", pending.Deliveries.Single(d => d.Sink == "later").LastError, StringComparison.OrdinalIgnoreCase);

        await silo.RestartAsync(); // stopped, then started again on the same data directory
        await using var receiver = await WebhookReceiver.StartAsync(port);

        var post = await receiver.WaitForAsync(p => p.AlertId == pending.Id, Patience);
        Assert.NotNull(post);
        Assert.Equal($"team/{team} spent $50.00 of $100.00 (50%)", post.Body.GetProperty("message").GetString());
        await silo.AlertsWhenAsync("team/" + team, a => a.All(Delivered("later")));
        Assert.Single(receiver.Posts);
    }

    [Fact]
    public async Task NewWebhookStartsWithAlertsFiredAfterItWasAdded()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var options = OwnSilo.FastRetryOptions();
        await using var silo = await OwnSilo.StartAsync(options);
        var team = Build.UniqueKey("new-sink");
        await silo.Management.SetBudgetAsync("team/" + team, 100 * Dollar, thresholds: [50, 80]);
        await silo.SpendAsync(new Attribution { Team = team }, 50 * Dollar);
        var before = Assert.Single(await silo.AlertsAsync("team/" + team));

        options.Alerts.Webhooks.Add(new WebhookOptions { Name = "added", Url = receiver.Url.ToString() });
        await silo.RestartAsync();
        await silo.SpendAsync(new Attribution { Team = team }, 30 * Dollar);

        var alerts = await silo.AlertsWhenAsync("team/" + team, a => a.Count == 2 && a[0].Deliveries.Any(d => d.Sink == "added" && d.State == DeliveryState.Delivered));
        // Queued in id order: had the older alert been queued, it would have been attempted first.
        Assert.Equal([alerts[0].Id], receiver.Posts.Select(p => p.AlertId));
        Assert.DoesNotContain(alerts.Single(a => a.Id == before.Id).Deliveries, d => d.Sink == "added");
    }

    [Fact]
    public async Task LogSinkWritesOneLinePerAlertEvenAcrossARestart()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.FastRetryOptions());
        var team = Build.UniqueKey("log");
        await silo.Management.SetBudgetAsync("team/" + team, 100 * Dollar, thresholds: [50, 80, 100]);
        await silo.SpendAsync(new Attribution { Team = team }, 50 * Dollar);
        var first = Assert.Single(await silo.AlertsWhenAsync("team/" + team, a => a.Count == 1 && a.All(Delivered("log"))));
        Assert.Single(silo.Log.Lines, l => l.Category == "BudgetGrains.Alerts" && l.Message == $"Alert {first.Id} (threshold 50%): {first.Message}");

        await silo.RestartAsync();
        await silo.SpendAsync(new Attribution { Team = team }, 30 * Dollar);

        var alerts = await silo.AlertsWhenAsync("team/" + team, a => a.Count == 2 && a.All(Delivered("log")));
        // The log sink goes in id order: a repeat of the first alert would have come before the second.
        var lines = silo.Log.Lines.Where(l => l.Category == "BudgetGrains.Alerts").Select(l => l.Message).ToList();
        Assert.Equal([$"Alert {alerts[0].Id} (threshold 80%): team/{team} spent $80.00 of $100.00 (80%)"], lines);
    }

    [Theory]
    [InlineData("ftp://example.com/hook", null, "BudgetGrains:Alerts:Webhooks:0:Url must be an absolute http:// or https:// URL")]
    [InlineData("hooks.example.com", null, "BudgetGrains:Alerts:Webhooks:0:Url must be an absolute http:// or https:// URL")]
    [InlineData("http://127.0.0.1:9/hook", "log", "BudgetGrains:Alerts:Webhooks:0:Name 'log' is taken (\"log\" and every other sink's name)")]
    [InlineData("http://127.0.0.1:9/hook", "a b", "BudgetGrains:Alerts:Webhooks:0:Name: name 'a b' has ' '; keys are made of A-Z a-z 0-9 . _ : -")]
    public async Task AWebhookThatCannotWorkStopsTheSiloFromStartingWithTheSettingNamed(string url, string? name, string error)
    {
        var options = OwnSilo.FastRetryOptions(new WebhookOptions { Url = url, Name = name });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => OwnSilo.StartAsync(options));

        Assert.Equal(error, e.Message);
        Assert.False(Directory.Exists(options.DataDir), "nothing was created");
    }

    private static Func<Alert, bool> Delivered(string sink) =>
        alert => alert.Deliveries.Any(d => d.Sink == sink && d.State == DeliveryState.Delivered);
}

/// <summary>The silo process is killed with SIGKILL right after a commit raised an alert that no webhook has taken yet;
/// after the restart the alert is delivered: it was persisted with the commit, before any delivery.</summary>
public sealed class AlertDeliveryKillTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-alert-kill-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AlertRaisedBeforeAKillDashNineIsDeliveredAfterTheRestart()
    {
        var port = await WebhookReceiver.UnusedPortAsync();
        string[] settings = [$"--BudgetGrains:Alerts:Webhooks:0:Url=http://127.0.0.1:{port}/hook", "--BudgetGrains:Alerts:Webhooks:0:Name=pager",
            "--BudgetGrains:Alerts:RetryInitialDelay=00:00:00.050", "--BudgetGrains:Alerts:RetryMaxDelay=00:00:00.200"];
        var team = Build.UniqueKey("kill");
        using (var first = await ServerProcess.StartAsync(_dataDir, settings))
        using (var channel = GrpcChannel.ForAddress(first.Address))
        {
            await new ManagementClient(channel).SetBudgetAsync("team/" + team, 100, thresholds: [50]);
            await new AdmissionClient(channel).SpendAsync("team/" + team, 60);
            first.KillHard();
        }

        await using var receiver = await WebhookReceiver.StartAsync(port);
        using var second = await ServerProcess.StartAsync(_dataDir, settings);

        var post = await receiver.WaitForAsync(p => p.Body.GetProperty("scope").GetString() == "team/" + team, TimeSpan.FromSeconds(60));
        Assert.NotNull(post);
        Assert.Equal(50, post.Body.GetProperty("thresholdPercent").GetInt32());
        Assert.Equal("60", post.Body.GetProperty("spentNanos").GetString());
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
