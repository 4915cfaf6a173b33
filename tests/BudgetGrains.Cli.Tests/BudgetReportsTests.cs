namespace BudgetGrains.Cli.Tests;

/// <summary>budgets freeze/unfreeze/reset/delete/tree/usage/periods against a real silo.</summary>
[Collection(SiloCollection.Name)]
public sealed class BudgetReportsTests(SiloFixture silo)
{
    [Fact]
    public async Task FreezeAndUnfreezeFlipTheKillSwitch()
    {
        var scope = "feature/" + SiloFixture.UniqueKey("freeze");

        var frozen = await silo.RunAsync("budgets", "freeze", scope);
        Assert.True(frozen.ExitCode == 0, frozen.ToString());
        Assert.Equal("yes: every reserve is denied", frozen.Field("frozen"));
        var denied = await silo.RunAsync("reserve", "--feature", scope["feature/".Length..], "--estimate", "0.01");
        Assert.Contains("DENIED", denied.Stdout);
        Assert.Equal("frozen", denied.Field("reason"));

        var thawed = await silo.RunAsync("budgets", "unfreeze", scope);
        Assert.Equal("no", thawed.Field("frozen"));
    }

    [Fact]
    public async Task ResetMovesTheSpendIntoHistoryAndPeriodsListsIt()
    {
        var team = SiloFixture.UniqueKey("reset");
        await silo.RunAsync("budgets", "set", "team/" + team, "--limit", "10", "--period", "month");
        await SpendAsync(["--team", team], "2.50");

        var reset = await silo.RunAsync("budgets", "reset", "team/" + team);
        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.Equal("$0.00", reset.Field("spent"));
        Assert.StartsWith("month (since ", reset.Field("period"));

        var periods = await silo.RunAsync("budgets", "periods", "team/" + team);
        Assert.True(periods.ExitCode == 0, periods.ToString());
        Assert.Contains("$2.50", periods.Stdout);
        Assert.Contains("reset", periods.Stdout);
        var json = Assert.Single((await silo.RunAsync("budgets", "periods", "team/" + team, "--json")).JsonLines());
        Assert.Equal("2500000000", json.GetProperty("spentNanos").GetString());
        Assert.True(json.GetProperty("reset").GetBoolean());

        var usage = await silo.RunAsync("budgets", "usage", "team/" + team, "--period-start", json.GetProperty("startUnixMs").GetString()!);
        Assert.True(usage.ExitCode == 0, usage.ToString());
        Assert.Equal("$2.50 in 1 commit", usage.Field("spent"));
    }

    [Fact]
    public async Task DeleteSaysWhetherThereWasABudget()
    {
        var scope = "team/" + SiloFixture.UniqueKey("delete");
        await silo.RunAsync("budgets", "set", scope, "--limit", "1");

        Assert.Contains("DELETED", (await silo.RunAsync("budgets", "delete", scope)).Stdout);
        Assert.Contains("NOTHING TO DELETE", (await silo.RunAsync("budgets", "delete", scope)).Stdout);
    }

    [Fact]
    public async Task TreeShowsEachHierarchyWithBars()
    {
        var key = SiloFixture.UniqueKey("tree");
        await silo.RunAsync("budgets", "set", "cost_center/" + key, "--limit", "100");
        await silo.RunAsync("budgets", "set", "team/" + key, "--limit", "10", "--parent", "cost_center/" + key);
        await silo.RunAsync("budgets", "set", "feature/" + key, "--parent", "team/" + key);
        await SpendAsync(["--feature", key], "9");

        var run = await silo.RunAsync("budgets", "tree", "cost_center/" + key);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Stdout.Split('\n');
        var center = Array.FindIndex(lines, l => l.Contains("cost_center/" + key));
        var team = Array.FindIndex(lines, l => l.Contains("team/" + key));
        var feature = Array.FindIndex(lines, l => l.Contains("feature/" + key));
        Assert.True(center >= 0 && center < team && team < feature, run.Stdout);
        Assert.Contains("$9.00 of $10.00", lines[team]);
        Assert.Contains("90.0%", lines[team]);
        Assert.Contains("$9.00, no limit", lines[feature]);
        // Deeper levels are indented further.
        Assert.True(lines[feature].IndexOf("feature/", StringComparison.Ordinal) > lines[team].IndexOf("team/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UsageGroupsAScopesSpendByChildAndByModel()
    {
        var key = SiloFixture.UniqueKey("usage");
        await silo.RunAsync("budgets", "set", "team/" + key);
        await silo.RunAsync("budgets", "set", "feature/a-" + key, "--parent", "team/" + key);
        await silo.RunAsync("budgets", "set", "feature/b-" + key, "--parent", "team/" + key);
        await SpendAsync(["--feature", "a-" + key, "--label", "model=gpt-x"], "3");
        await SpendAsync(["--feature", "b-" + key, "--label", "model=claude-y"], "1");

        var byChild = await silo.RunAsync("budgets", "usage", "team/" + key);
        Assert.True(byChild.ExitCode == 0, byChild.ToString());
        Assert.Equal("$4.00 in 2 commits", byChild.Field("spent"));
        var a = byChild.Stdout.Split('\n').Single(l => l.Contains("feature/a-" + key));
        Assert.Contains("$3.00", a);
        Assert.Contains("75.0%", a);

        var byModel = await silo.RunAsync("budgets", "usage", "team/" + key, "--by", "model", "--json");
        var report = Assert.Single(byModel.JsonLines());
        Assert.Equal(["gpt-x", "claude-y"], report.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("key").GetString()!).ToArray());

        var bad = await silo.RunAsync("budgets", "usage", "team/" + key, "--by", "user");
        Assert.NotEqual(0, bad.ExitCode);
    }

    private async Task SpendAsync(string[] attribution, string dollars)
    {
        var id = SiloFixture.UniqueKey("spend");
        var reserve = await silo.RunAsync(["reserve", .. attribution, "--estimate", dollars, "--request-id", id]);
        Assert.True(reserve.ExitCode == 0 && reserve.Stdout.Contains("ADMITTED"), reserve.ToString());
        var commit = await silo.RunAsync("commit", id, "--actual", dollars);
        Assert.True(commit.ExitCode == 0, commit.ToString());
    }
}
