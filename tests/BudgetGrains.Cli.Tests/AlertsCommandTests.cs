using System.Text.Json;

namespace BudgetGrains.Cli.Tests;

/// <summary>alerts list/ack/watch against a real silo: what fired, who acknowledged it, and alerts printed as they fire.</summary>
[Collection(SiloCollection.Name)]
public sealed class AlertsCommandTests(SiloFixture silo)
{
    /// <summary>A tenant with a $100 budget and the given thresholds, and one reserve + commit of <paramref name="spend"/> dollars.</summary>
    private async Task<string> TenantWithSpendAsync(string thresholds, string spend)
    {
        var tenant = "tenant/" + SiloFixture.UniqueKey("alerts");
        Assert.Equal(0, (await silo.RunAsync("budgets", "set", tenant, "--limit", "100", "--thresholds", thresholds)).ExitCode);
        await SpendAsync(tenant, spend);
        return tenant;
    }

    private async Task SpendAsync(string tenant, string dollars)
    {
        var requestId = "req-" + Guid.NewGuid().ToString("N");
        var reserve = await silo.RunAsync("reserve", "--tenant", tenant["tenant/".Length..], "--estimate", dollars, "--request-id", requestId);
        Assert.True(reserve.ExitCode == 0 && reserve.Stdout.StartsWith("ADMITTED", StringComparison.Ordinal), reserve.ToString());
        var commit = await silo.RunAsync("commit", requestId, "--actual", dollars);
        Assert.True(commit.ExitCode == 0, commit.ToString());
    }

    private async Task<IReadOnlyList<JsonElement>> AlertsJsonAsync(string tenant, params string[] more)
    {
        var run = await silo.RunAsync(["alerts", "list", "--scope", tenant, "--json", .. more]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.JsonLines();
    }

    [Fact]
    public async Task ListShowsAlertsNewestFirstInATable()
    {
        var tenant = await TenantWithSpendAsync("50,80", "80");

        var run = await silo.RunAsync("alerts", "list", "--scope", tenant);

        Assert.True(run.ExitCode == 0, run.ToString());
        var ids = (await AlertsJsonAsync(tenant)).Select(a => a.GetProperty("id").GetString()!).ToList();
        Assert.Equal(2, ids.Count);
        var lines = run.Stdout.Split('\n');
        var newest = Array.FindIndex(lines, l => l.Contains("threshold 80%", StringComparison.Ordinal));
        var oldest = Array.FindIndex(lines, l => l.Contains("threshold 50%", StringComparison.Ordinal));
        Assert.True(newest >= 0 && newest < oldest, run.Stdout);
        Assert.Contains($"{tenant} spent $80.00 of $100.00 (80%)", lines[newest]);
        Assert.Contains(ids[0], lines[newest]);
        Assert.Contains("2 alerts", run.Stdout);
    }

    [Fact]
    public async Task ListMaxShowsOnlyTheNewestAndSaysSo()
    {
        var tenant = await TenantWithSpendAsync("10,20,30", "30");

        var run = await silo.RunAsync("alerts", "list", "--scope", tenant, "--max", "2");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("threshold 30%", run.Stdout);
        Assert.Contains("threshold 20%", run.Stdout);
        Assert.DoesNotContain("threshold 10%", run.Stdout);
        Assert.Contains("2 alerts, newest first; older ones not shown (--max 0 shows all)", run.Stdout);
        Assert.Equal(3, (await AlertsJsonAsync(tenant, "--max", "0")).Count);
    }

    [Fact]
    public async Task ListWithJsonPrintsOneAlertMessagePerLine()
    {
        var tenant = await TenantWithSpendAsync("50", "60");

        var alert = Assert.Single(await AlertsJsonAsync(tenant));

        Assert.Equal("THRESHOLD", alert.GetProperty("kind").GetString());
        Assert.Equal(tenant, alert.GetProperty("scope").GetString());
        Assert.Equal(50, alert.GetProperty("thresholdPercent").GetInt32());
        Assert.Equal("60000000000", alert.GetProperty("spentNanos").GetString());
        Assert.Equal($"{tenant} spent $60.00 of $100.00 (60%)", alert.GetProperty("message").GetString());
        Assert.False(alert.GetProperty("acknowledged").GetBoolean());
    }

    [Fact]
    public async Task AckRecordsWhoAndListUnackedLeavesItOut()
    {
        var tenant = await TenantWithSpendAsync("50,80", "80");
        var alerts = await AlertsJsonAsync(tenant);
        var (newest, oldest) = (alerts[0].GetProperty("id").GetString()!, alerts[1].GetProperty("id").GetString()!);

        var ack = await silo.RunAsync("alerts", "ack", oldest, "--by", "alice@example.com");
        var again = await silo.RunAsync("alerts", "ack", oldest, "--by", "bob@example.com", "--json");

        Assert.True(ack.ExitCode == 0, ack.ToString());
        Assert.Equal(oldest, ack.Field("alert"));
        Assert.StartsWith("by alice@example.com at ", ack.Field("acknowledged"));
        Assert.Equal("alice@example.com", Assert.Single(again.JsonLines()).GetProperty("acknowledgedBy").GetString());
        var unacked = await AlertsJsonAsync(tenant, "--unacked");
        Assert.Equal([newest], unacked.Select(a => a.GetProperty("id").GetString()));
        var table = await silo.RunAsync("alerts", "list", "--scope", tenant);
        Assert.Contains("by alice@example.com at", table.Stdout);
    }

    [Fact]
    public async Task AckOfAnUnknownOrMalformedIdIsAClearError()
    {
        var unknown = await silo.RunAsync("alerts", "ack", "9223372036854775807");
        var malformed = await silo.RunAsync("alerts", "ack", "forty-two");

        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("error: no alert with id 9223372036854775807 (NotFound)", unknown.Stderr.Trim());
        Assert.Equal(1, malformed.ExitCode);
        Assert.Equal("error: alert id 'forty-two' is not an alert id (a number such as 42) (InvalidArgument)", malformed.Stderr.Trim());
    }

    [Fact]
    public async Task WatchReplaysThenPrintsAlertsAsTheyFire()
    {
        var tenant = await TenantWithSpendAsync("50,80", "50");

        var watch = silo.RunAsync("alerts", "watch", "--scope", tenant, "--after", "0", "--count", "2");
        // The 50% alert is replayed; the 80% one fires while the watch runs (or before it starts: it is replayed then).
        await SpendAsync(tenant, "30");
        var run = await watch.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^#\d+ \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC threshold 50% {tenant} spent \$50\.00 of \$100\.00 \(50%\)$", lines[0]);
        Assert.Matches($@"^#\d+ .* threshold 80% {tenant} spent \$80\.00 of \$100\.00 \(80%\)$", lines[1]);
    }

    [Fact]
    public async Task WatchWithJsonPrintsOneObjectPerAlert()
    {
        var tenant = await TenantWithSpendAsync("10,20,30", "30");

        var run = await silo.RunAsync("alerts", "watch", "--scope", tenant, "--after", "0", "--count", "3", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal([10, 20, 30], run.JsonLines().Select(a => a.GetProperty("thresholdPercent").GetInt32()));
    }
}

/// <summary>alerts list on a silo whose webhook is down: the failed delivery and its error are shown.</summary>
public sealed class AlertsDeliveryDisplayTests
{
    [Fact]
    public async Task ListShowsAFailedDeliveryWithItsLastError()
    {
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop(); // nothing listens there now: the webhook is down
        var options = new BudgetGrains.Server.Hosting.SiloOptions
        {
            Listen = "127.0.0.1:0",
            DataDir = Path.Combine(Path.GetTempPath(), "budgetctl-alerts-" + Guid.NewGuid().ToString("N")),
        };
        options.Alerts.MaxAttempts = 1;
        options.Alerts.Webhooks.Add(new BudgetGrains.Server.Hosting.WebhookOptions { Name = "pager", Url = $"http://127.0.0.1:{port}/hook" });
        var silo = await BudgetGrains.Server.Hosting.Silo.StartAsync(options, logging => { });
        try
        {
            var server = silo.Address.ToString();
            var tenant = "tenant/" + SiloFixture.UniqueKey("down");
            Assert.Equal(0, (await SiloFixture.RunAgainstAsync(server, "budgets", "set", tenant, "--limit", "10", "--thresholds", "50")).ExitCode);
            Assert.Equal(0, (await SiloFixture.RunAgainstAsync(server, "reserve", "--tenant", tenant["tenant/".Length..], "--estimate", "5", "--request-id", "r1")).ExitCode);
            Assert.Equal(0, (await SiloFixture.RunAgainstAsync(server, "commit", "r1", "--actual", "5")).ExitCode);

            CliRun run = null!;
            for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(100))
            {
                run = await SiloFixture.RunAgainstAsync(server, "alerts", "list", "--scope", tenant);
                if (run.Stdout.Contains("FAILED", StringComparison.Ordinal)) break;
            }

            Assert.Contains($"pager: FAILED after 1 attempt (Connection refused (127.0.0.1:{port}))", run.Stdout);
            Assert.Contains("log: delivered", run.Stdout);
        }
        finally
        {
            await silo.DisposeAsync();
            Directory.Delete(options.DataDir, recursive: true);
        }
    }
}
