namespace BudgetGrains.Cli.Tests;

/// <summary>tasks policy set/get, tasks end, and rate limits through budgets set, against a real silo.</summary>
[Collection(SiloCollection.Name)]
public sealed class TasksCommandTests(SiloFixture silo)
{
    [Fact]
    public async Task PolicySetStoresOnlyTheLimitsGivenAndGetShowsThem()
    {
        var agent = "agent/" + SiloFixture.UniqueKey("planner");

        var set = await silo.RunAsync("tasks", "policy", "set", agent, "--max-depth", "3", "--max-retries", "0", "--max-spend", "2.5");
        var get = await silo.RunAsync("tasks", "policy", "get", agent);

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal(("3", "0", "not set", "$2.50"), (get.Field("max depth"), get.Field("max retries"), get.Field("max calls"), get.Field("max spend")));
    }

    [Fact]
    public async Task TaskDeniedAtItsCallLimitThenEndedShowsItsCounters()
    {
        var key = SiloFixture.UniqueKey("run");
        await silo.RunAsync("tasks", "policy", "set", "agent/" + key, "--max-calls", "1");
        var first = await silo.RunAsync("reserve", "--tenant", key, "--agent", key, "--task", "t1", "--estimate", "0.01");
        var second = await silo.RunAsync("reserve", "--tenant", key, "--agent", key, "--task", "t1", "--estimate", "0.01");

        var end = await silo.RunAsync("tasks", "end", $"task/{key}/t1");
        var status = await silo.RunAsync("budgets", "get", $"task/{key}/t1");

        Assert.Contains("ADMITTED", first.Stdout);
        Assert.Equal(("call limit", $"task/{key}/t1"), (second.Field("reason"), second.Field("scope")));
        Assert.Equal("1 open hold", end.Field("released"));
        Assert.Equal(("1", "$0.00", "yes: every further call is denied"), (status.Field("calls"), status.Field("spent"), status.Field("ended")));
    }

    [Fact]
    public async Task RateLimitedReserveSaysWhenToRetry()
    {
        var team = "team/" + SiloFixture.UniqueKey("rpm");
        var set = await silo.RunAsync("budgets", "set", team, "--rpm", "1");
        await silo.RunAsync("reserve", "--team", team["team/".Length..], "--estimate", "0.01");

        var limited = await silo.RunAsync("reserve", "--team", team["team/".Length..], "--estimate", "0.01");

        Assert.Equal("1 reserve per minute", set.Field("rate"));
        Assert.Equal("rate limited", limited.Field("reason"));
        Assert.EndsWith(" s", limited.Field("retry after"));
    }
}
