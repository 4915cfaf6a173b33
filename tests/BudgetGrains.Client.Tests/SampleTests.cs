using System.Text.RegularExpressions;

namespace BudgetGrains.Client.Tests;

/// <summary>The .NET sample runs against the silo: it stops on a deny, its failing call is released, its spend is the server's.</summary>
[Collection(SiloCollection.Name)]
public sealed partial class SampleTests(SiloFixture silo)
{
    [Fact]
    public async Task SampleStopsWhenDeniedAndReleasesTheFailedCall()
    {
        // The sample is built next to the tests, in the same configuration (bin/<Configuration>/net10.0).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var sample = Path.Combine(Components.RepositoryRoot, "examples", "dotnet", "BudgetGrains.Sample", "bin", configuration, "net10.0", "BudgetGrains.Sample.dll");

        var (exitCode, output) = Components.Run("dotnet", [sample, silo.Silo.Address.ToString()], TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, output);
        var lines = output.Trim().Split('\n');
        var tenant = BudgetLine().Match(lines[0]).Groups["tenant"].Value;
        Assert.NotEmpty(tenant);
        Assert.Contains("step 3: the model call failed (the model did not answer in time); its hold was released", lines);
        Assert.Single(lines, line => line.Contains($": DENIED BudgetExhausted at tenant/{tenant}, remaining $", StringComparison.Ordinal));
        var commits = lines.Count(line => line.Contains("; committed $", StringComparison.Ordinal));
        var status = await silo.StatusAsync("tenant/" + tenant);
        // Console logging is asynchronous: its lines may interleave anywhere, so lines are found, not indexed.
        Assert.Contains($"spent {Money.Format(status.SpentNanos)} of $0.01", lines);
        Assert.Equal((0L, 0, (long)commits, 1L), (status.HeldNanos, status.OpenHolds, status.Commits, status.Denials));
        Assert.InRange(status.SpentNanos, Money.FromDollars(0.008m), Money.FromDollars(0.01m));
    }

    [GeneratedRegex(@"^budget tenant/(?<tenant>\S+): limit \$0\.01$")]
    private static partial Regex BudgetLine();
}
