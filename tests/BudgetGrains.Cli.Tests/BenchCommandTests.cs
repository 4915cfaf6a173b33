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
    public async Task ARemoteServerIsRefused()
    {
        var run = await SiloFixture.RunAgainstAsync("http://192.0.2.1:5080", "bench", "--count", "1");

        Assert.Equal(Cli.Usage, run.ExitCode);
        Assert.Contains("loopback", run.Stderr, StringComparison.Ordinal);
    }
}
