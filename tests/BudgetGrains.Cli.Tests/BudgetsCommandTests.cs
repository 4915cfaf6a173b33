namespace BudgetGrains.Cli.Tests;

/// <summary>budgets set/get/list against a real silo: what is stored, what is printed, every page of a listing.</summary>
[Collection(SiloCollection.Name)]
public sealed class BudgetsCommandTests(SiloFixture silo)
{
    [Fact]
    public async Task SetCreatesTheBudgetAndPrintsItsStatus()
    {
        var parent = "cost_center/" + SiloFixture.UniqueKey("cc");
        var scope = "team/" + SiloFixture.UniqueKey("search");
        Assert.Equal(0, (await silo.RunAsync("budgets", "set", parent)).ExitCode);

        var run = await silo.RunAsync("budgets", "set", scope, "--limit", "$25.5", "--parent", parent, "--thresholds", "50,90");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("", run.Stderr);
        Assert.Equal(scope, run.Field("scope"));
        Assert.Equal("$25.50", run.Field("limit"));
        Assert.Equal("$0.00", run.Field("spent"));
        Assert.Equal("$0.00 (0 open holds)", run.Field("held"));
        Assert.Equal("$25.50", run.Field("remaining"));
        Assert.Equal("0.0%", run.Field("used"));
        Assert.Equal(parent, run.Field("parent"));
        Assert.Equal("no", run.Field("frozen"));
        Assert.Equal("50%, 90%", run.Field("thresholds"));
        Assert.Equal("USD", run.Field("currency"));
    }

    [Fact]
    public async Task SetWithoutALimitMeansNoHardLimit()
    {
        var run = await silo.RunAsync("budgets", "set", "tenant/" + SiloFixture.UniqueKey("acme"));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("no limit", run.Field("limit"));
        Assert.Null(run.Field("remaining"));
    }

    [Fact]
    public async Task SetWithJsonPrintsTheProtoStatusWithNanos()
    {
        var scope = "team/" + SiloFixture.UniqueKey("json");

        var run = await silo.RunAsync("budgets", "set", scope, "--limit-nanos", "1234567890", "--frozen", "--currency", "EUR", "--period", "none", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var status = Assert.Single(run.JsonLines());
        Assert.Equal(scope, status.GetProperty("scope").GetString());
        Assert.Equal("1234567890", status.GetProperty("limitNanos").GetString());
        Assert.Equal("0", status.GetProperty("spentNanos").GetString());
        Assert.True(status.GetProperty("frozen").GetBoolean());
        Assert.Equal("EUR", status.GetProperty("currency").GetString());
        Assert.Equal("NONE", status.GetProperty("period").GetString());
    }

    [Fact]
    public async Task GetShowsWhatSetStored()
    {
        var scope = "feature/" + SiloFixture.UniqueKey("rerank");
        await silo.RunAsync("budgets", "set", scope, "--limit", "0.042", "--frozen");

        var run = await silo.RunAsync("budgets", "get", scope);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(scope, run.Field("scope"));
        Assert.Equal("$0.042", run.Field("limit"));
        Assert.Equal("yes: every reserve is denied", run.Field("frozen"));
        Assert.Equal("50%, 80%, 100%", run.Field("thresholds"));
    }

    [Fact]
    public async Task ListFollowsEveryPageIntoOneTable()
    {
        var prefix = "team/" + SiloFixture.UniqueKey("list") + "-";
        var scopes = Enumerable.Range(0, 7).Select(i => $"{prefix}{i}").ToList();
        foreach (var scope in scopes) await silo.RunAsync("budgets", "set", scope, "--limit", "10");

        var run = await silo.RunAsync("budgets", "list", "--prefix", prefix, "--page-size", "3");

        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (var column in new[] { "scope", "limit", "spent", "held", "open holds", "used", "parent", "frozen" })
        {
            Assert.Contains(column, run.Stdout, StringComparison.Ordinal);
        }

        var rows = run.Stdout.Split('\n').Where(line => line.Contains(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(7, rows.Count);
        Assert.All(rows.Zip(scopes), pair =>
        {
            Assert.Contains(pair.Second + " ", pair.First, StringComparison.Ordinal);
            Assert.Contains("$10.00", pair.First, StringComparison.Ordinal);
            Assert.Contains(".......... 0.0%", pair.First, StringComparison.Ordinal);
        });
        Assert.Contains("7 budgets", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListShowsHowMuchIsUsed()
    {
        var tenant = SiloFixture.UniqueKey("used");
        await silo.RunAsync("budgets", "set", "tenant/" + tenant, "--limit", "1");
        await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.85");

        var run = await silo.RunAsync("budgets", "list", "--prefix", "tenant/" + tenant);

        var row = Assert.Single(run.Stdout.Split('\n'), line => line.Contains("tenant/" + tenant, StringComparison.Ordinal));
        Assert.Contains("$0.85", row, StringComparison.Ordinal);
        Assert.Contains("########.. 85.0%", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListWithJsonPrintsOneObjectPerBudgetInScopeOrder()
    {
        var prefix = "agent/" + SiloFixture.UniqueKey("jsonlist") + "-";
        for (var i = 0; i < 5; i++) await silo.RunAsync("budgets", "set", $"{prefix}{i}", "--limit-nanos", $"{i + 1}");

        var run = await silo.RunAsync("budgets", "list", "--prefix", prefix, "--page-size", "2", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.JsonLines();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{prefix}{i}"), lines.Select(l => l.GetProperty("scope").GetString()));
        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"{i}"), lines.Select(l => l.GetProperty("limitNanos").GetString()));
    }

    [Fact]
    public async Task ListOfNothingSaysSo()
    {
        var run = await silo.RunAsync("budgets", "list", "--prefix", "team/" + SiloFixture.UniqueKey("none"));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("no budgets", run.Stdout.Trim());
    }
}
