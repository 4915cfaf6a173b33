using System.Net;
using System.Net.Sockets;

namespace BudgetGrains.Cli.Tests;

/// <summary>Expected failures end in one line on stderr and the documented exit code: 2 usage, 1 server or connection.</summary>
[Collection(SiloCollection.Name)]
public sealed class ErrorTests(SiloFixture silo)
{
    [Theory]
    [InlineData("abc", "error: --estimate: 'abc' is not an amount of money: write dollars like 25, 25.00, 0.042 or $1.50")]
    [InlineData("-1", "error: --estimate: '-1' is negative: an amount of money must be 0 or more")]
    [InlineData("0.0000000001", "error: --estimate: '0.0000000001' has more than 9 decimals: the smallest amount is $0.000000001 (1 nano)")]
    public async Task BadMoneyIsAUsageError(string amount, string message)
    {
        var run = await silo.RunAsync("reserve", "--tenant", "acme", "--estimate", amount);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Equal(message, run.Stderr.Split('\n')[0]);
    }

    [Fact]
    public async Task AMissingRequiredOptionIsAUsageError()
    {
        var run = await silo.RunAsync("commit", "some-id");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--actual", run.Stderr.Split('\n')[0], StringComparison.Ordinal);
        Assert.Contains("see: budgetctl commit --help", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LimitInDollarsAndNanosTogetherIsAUsageError()
    {
        var run = await silo.RunAsync("budgets", "set", "team/x", "--limit", "1", "--limit-nanos", "5");

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("error: give --limit or --limit-nanos, not both", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadServerUrlIsAUsageError()
    {
        var run = await SiloFixture.RunAgainstAsync("ftp://somewhere", "budgets", "list");

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("error: 'ftp://somewhere' is not a server URL", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServerErrorIsOneLineWithItsStatus()
    {
        var run = await silo.RunAsync("budgets", "set", "team/not a scope!", "--limit", "1");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Matches(@"^error: \S.* \(InvalidArgument\)\r?\n$", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableServerGetsTheFriendlyMessage()
    {
        // A port that was just free: nothing listens there, so the connection is refused at once.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var run = await SiloFixture.RunAgainstAsync($"http://127.0.0.1:{port}", "budgets", "get", "team/x");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(
            $"error: cannot reach BudgetGrains at http://127.0.0.1:{port}: is the silo running? (start it with: dotnet run --project src/BudgetGrains.Server)",
            run.Stderr.TrimEnd());
    }

    [Fact]
    public async Task ACommandGroupWithoutACommandIsAUsageError()
    {
        var run = await silo.RunAsync("budgets");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("see: budgetctl budgets --help", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpIsPrintedToStdout()
    {
        var run = await silo.RunAsync("reserve", "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("--estimate <dollars>", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("--input-tokens <n>", run.Stdout, StringComparison.Ordinal);
    }
}
