namespace BudgetGrains.Cli.Tests;

/// <summary>tasks policy set --hold-ttl: durations in, the policy's hold TTL out, bad durations refused before any call.</summary>
[Collection(SiloCollection.Name)]
public sealed class HoldTtlCommandTests(SiloFixture silo)
{
    [Fact]
    public async Task HoldTtlIsSetFromADurationAndShownInItsLargestUnit()
    {
        var feature = "feature/" + SiloFixture.UniqueKey("ttl");

        var set = await silo.RunAsync("tasks", "policy", "set", feature, "--hold-ttl", "30s");
        var get = await silo.RunAsync("tasks", "policy", "get", feature);
        var json = await silo.RunAsync("tasks", "policy", "get", feature, "--json");

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal(("30s", "not set"), (get.Field("hold ttl"), get.Field("max calls")));
        Assert.Equal("30000", json.JsonLines().Single().GetProperty("policy").GetProperty("holdTtlMs").GetProperty("value").GetString());
    }

    [Theory]
    [InlineData("30")]
    [InlineData("1.5s")]
    [InlineData("2d")]
    public async Task ABadDurationIsAUsageError(string duration)
    {
        var run = await silo.RunAsync("tasks", "policy", "set", "feature/x", "--hold-ttl", duration);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--hold-ttl", run.Stderr);
    }

    [Fact]
    public async Task AHoldTtlOutsideTheServersRangeIsRefusedByTheServer()
    {
        var run = await silo.RunAsync("tasks", "policy", "set", "feature/" + SiloFixture.UniqueKey("ttl"), "--hold-ttl", "2h");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("hold_ttl_ms", run.Stderr);
    }
}
