namespace BudgetGrains.Cli.Tests;

/// <summary>budgetctl bench: a short run against the shared silo ends with its invariants checked.</summary>
[Collection(SiloCollection.Name)]
public sealed class BenchCommandTests(SiloFixture silo)
{
    [Theory]
    [InlineData("reserve-commit")]
    [InlineData("reserve")]
    public async Task ABriefRunPassesTheInvariants(string scenario)
    {
        var run = await silo.RunAsync("bench", "--scenario", scenario, "--count", "200", "--callers", "8", "--warmup", "0", "--duration", "30");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("stopped by count", run.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"invariants \(live counters vs what callers were charged\): (\d+)/\1 checks passed", run.Stdout);
        Assert.Matches($@"\| {scenario} \| hot-root \| 5 \| 8 \| external \|.*\| pass \|", run.Stdout);
    }

    [Fact]
    public async Task ARunUsesScopesOfItsOwnAndRemovesTheirBudgetsAfterwards()
    {
        var before = await ListAsync("");

        var run = await silo.RunAsync("bench", "--scenario", "reserve-commit", "--count", "50", "--callers", "4", "--warmup", "0", "--duration", "30");

        Assert.True(run.ExitCode == 0, run.ToString());
        var key = System.Text.RegularExpressions.Regex.Match(run.Stdout, @"scopes: \*/(budgetctl-bench-[0-9a-f]{8}) ").Groups[1].Value;
        Assert.NotEmpty(key);
        Assert.Contains($"cleanup: removed 5 budgets of */{key}*", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("cleanup: kept, as the store keeps all spend history", run.Stdout, StringComparison.Ordinal);
        Assert.Empty(await ListAsync("tenant/" + key));
        Assert.Equal(before, await ListAsync(""));
        // The spend stays on the run's own scopes (history), on no one else's.
        var status = await silo.RunAsync("budgets", "get", "tenant/" + key, "--json");
        Assert.NotEqual("0", Assert.Single(status.JsonLines()).GetProperty("spentNanos").GetString());
    }

    [Fact]
    public async Task KeepLeavesTheRunsBudgets()
    {
        var run = await silo.RunAsync("bench", "--scenario", "reserve-release", "--count", "20", "--callers", "2", "--warmup", "0", "--duration", "30", "--keep");

        Assert.True(run.ExitCode == 0, run.ToString());
        var key = System.Text.RegularExpressions.Regex.Match(run.Stdout, @"scopes: \*/(budgetctl-bench-[0-9a-f]{8}) ").Groups[1].Value;
        Assert.DoesNotContain("cleanup:", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(["cost_center/" + key, "team/" + key, "feature/" + key, "agent/" + key, "tenant/" + key],
            (await ListAsync("")).Where(s => s.EndsWith("/" + key, StringComparison.Ordinal)).OrderBy(s => s.Split('/')[0] switch
            {
                "cost_center" => 0, "team" => 1, "feature" => 2, "agent" => 3, _ => 4,
            }));
        foreach (var scope in await ListAsync(""))
            if (scope.EndsWith("/" + key, StringComparison.Ordinal)) await silo.RunAsync("budgets", "delete", scope);
    }

    /// <summary>The scopes of every budget under a prefix.</summary>
    private async Task<List<string>> ListAsync(string prefix)
    {
        var run = await silo.RunAsync("budgets", "list", "--prefix", prefix, "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        return [.. run.JsonLines().Select(line => line.GetProperty("scope").GetString()!)];
    }

    [Fact]
    public async Task ARemoteServerIsRefused()
    {
        var run = await SiloFixture.RunAgainstAsync("http://192.0.2.1:5080", "bench", "--count", "1");

        Assert.Equal(Cli.Usage, run.ExitCode);
        Assert.Contains("loopback", run.Stderr, StringComparison.Ordinal);
    }
}
