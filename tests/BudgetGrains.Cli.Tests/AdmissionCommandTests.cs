namespace BudgetGrains.Cli.Tests;

/// <summary>reserve/commit/release/check against a real silo: decisions, amounts, and their effect on the counters.</summary>
[Collection(SiloCollection.Name)]
public sealed class AdmissionCommandTests(SiloFixture silo)
{
    /// <summary>A tenant with a budget of <paramref name="limit"/> dollars, for one test.</summary>
    private async Task<string> TenantAsync(string limit, params string[] more)
    {
        var tenant = SiloFixture.UniqueKey("acme");
        var run = await silo.RunAsync(["budgets", "set", "tenant/" + tenant, "--limit", limit, .. more]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return tenant;
    }

    [Fact]
    public async Task ReserveAdmittedShowsTheReservationAndHoldsTheEstimate()
    {
        var tenant = await TenantAsync("1", "--thresholds", "20");
        var requestId = "req-" + Guid.NewGuid().ToString("N");

        var run = await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.25", "--request-id", requestId,
            "--label", "model=gpt-4o", "--ttl-ms", "60000");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith("ADMITTED", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(requestId, run.Field("reservation"));
        Assert.Equal("$0.25", run.Field("held"));
        Assert.Equal("$0.75", run.Field("remaining"));
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in (59|60)s\)$", run.Field("expires"));
        Assert.Equal($"tenant/{tenant}:20 crossed", run.Field("thresholds"));

        var status = await silo.RunAsync("budgets", "get", "tenant/" + tenant);
        Assert.Equal("$0.25 (1 open hold)", status.Field("held"));
    }

    // Prices of the shipped default file: 800 nanos per input token, 4,000 per output token.
    private const string Haiku = "claude-3-5-haiku-20241022";

    [Fact]
    public async Task ReserveCheckAndCommitInTokensArePricedByTheServer()
    {
        var tenant = await TenantAsync("1");
        var requestId = "tok-" + Guid.NewGuid().ToString("N");

        var check = await silo.RunAsync("check", "--tenant", tenant, "--model", Haiku, "--input-tokens", "1000", "--output-tokens", "500");
        var reserve = await silo.RunAsync("reserve", "--tenant", tenant, "--request-id", requestId,
            "--model", Haiku, "--input-tokens", "1000", "--output-tokens", "500");
        var commit = await silo.RunAsync("commit", requestId, "--model", Haiku, "--input-tokens", "2000", "--output-tokens", "100");

        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.StartsWith("WOULD BE ADMITTED", check.Stdout, StringComparison.Ordinal);
        Assert.True(reserve.ExitCode == 0, reserve.ToString());
        Assert.Equal("$0.0028", reserve.Field("held"));
        Assert.True(commit.ExitCode == 0, commit.ToString());
        Assert.Equal("$0.002", commit.Field("charged"));
        var status = await silo.RunAsync("budgets", "get", "tenant/" + tenant);
        Assert.StartsWith("$0.002", status.Field("spent"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReserveInTokensOfAModelWithoutAPriceIsDeniedNotFree()
    {
        var tenant = await TenantAsync("1");

        var run = await silo.RunAsync("reserve", "--tenant", tenant, "--model", "no-such-model", "--input-tokens", "10");

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("DENIED", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("price", run.Field("reason"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("token counts need --model", "reserve", "--tenant", "acme", "--input-tokens", "10")]
    [InlineData("--model needs token counts", "check", "--tenant", "acme", "--model", Haiku)]
    [InlineData("give --estimate or --model with token counts, not both", "reserve", "--tenant", "acme", "--estimate", "0.1", "--model", Haiku, "--output-tokens", "5")]
    [InlineData("--output-tokens cannot be negative", "commit", "r-1", "--model", Haiku, "--output-tokens", "-5")]
    [InlineData("give --actual, or --model with token counts", "commit", "r-1")]
    public async Task TokenOptionsThatDoNotMakeAUsageAreUsageErrors(string message, params string[] args)
    {
        var run = await silo.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Stderr.Split('\n')[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReserveWithoutARequestIdMakesOneAndPrintsIt()
    {
        var tenant = await TenantAsync("1");

        var run = await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.1");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches("^cli-[0-9a-f]{32}$", run.Field("reservation"));
    }

    [Fact]
    public async Task ReserveDeniedIsAnAnswerNotAnError()
    {
        var tenant = await TenantAsync("0.10");

        var run = await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.25", "--request-id", "denied-1");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("", run.Stderr);
        Assert.StartsWith("DENIED", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("budget exhausted", run.Field("reason"));
        Assert.Equal("tenant/" + tenant, run.Field("scope"));
        Assert.Equal("denied-1", run.Field("request id"));
        Assert.Equal("$0.10", run.Field("remaining"));
    }

    [Fact]
    public async Task ReserveOnAFrozenScopeIsDeniedAsFrozen()
    {
        var tenant = await TenantAsync("100", "--frozen");

        var run = await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.01");

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("DENIED", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("frozen", run.Field("reason"));
    }

    [Fact]
    public async Task ReserveWithJsonPrintsTheProtoResponse()
    {
        var tenant = await TenantAsync("1");

        var admitted = await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.25", "--request-id", "json-1", "--json");
        var denied = await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.9", "--json");

        Assert.True(admitted.ExitCode == 0, admitted.ToString());
        var yes = Assert.Single(admitted.JsonLines());
        Assert.Equal("ADMITTED", yes.GetProperty("decision").GetString());
        Assert.Equal("json-1", yes.GetProperty("reservationId").GetString());
        Assert.Equal("250000000", yes.GetProperty("heldNanos").GetString());
        Assert.Equal("750000000", yes.GetProperty("remainingNanos").GetString());
        var no = Assert.Single(denied.JsonLines());
        Assert.Equal("DENIED", no.GetProperty("decision").GetString());
        Assert.Equal("BUDGET_EXHAUSTED", no.GetProperty("reason").GetString());
        Assert.Equal("tenant/" + tenant, no.GetProperty("deniedScope").GetString());
    }

    [Fact]
    public async Task CommitRecordsTheActualCostAndFreesTheRest()
    {
        var tenant = await TenantAsync("1");
        await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.25", "--request-id", "commit-" + tenant);

        var run = await silo.RunAsync("commit", "commit-" + tenant, "--actual", "0.042", "--outcome", "resolved");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith("COMMITTED", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("$0.042", run.Field("charged"));
        Assert.Null(run.Field("overage"));
        var status = await silo.RunAsync("budgets", "get", "tenant/" + tenant);
        Assert.Equal("$0.042", status.Field("spent"));
        Assert.Equal("$0.00 (0 open holds)", status.Field("held"));
        Assert.Equal("1", status.Field("commits"));
    }

    [Fact]
    public async Task CommitAboveTheEstimateIsFlaggedAsOverage()
    {
        var tenant = await TenantAsync("1");
        await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.25", "--request-id", "over-" + tenant);

        var run = await silo.RunAsync("commit", "over-" + tenant, "--actual", "0.5", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var response = Assert.Single(run.JsonLines());
        Assert.Equal("500000000", response.GetProperty("chargedNanos").GetString());
        Assert.True(response.GetProperty("overage").GetBoolean());
        Assert.False(response.GetProperty("late").GetBoolean());
    }

    [Fact]
    public async Task CommitOfAnUnknownReservationIsNotFound()
    {
        var run = await silo.RunAsync("commit", "no-such-" + Guid.NewGuid().ToString("N"), "--actual", "1");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Matches(@"^error: .+ \(NotFound\)\r?\n$", run.Stderr);
    }

    [Fact]
    public async Task ReleaseRemovesTheHold()
    {
        var tenant = await TenantAsync("1");
        await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.25", "--request-id", "release-" + tenant);

        var run = await silo.RunAsync("release", "release-" + tenant);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith("RELEASED", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("release-" + tenant, run.Field("reservation"));
        var status = await silo.RunAsync("budgets", "get", "tenant/" + tenant);
        Assert.Equal("$0.00 (0 open holds)", status.Field("held"));
        Assert.Equal("$0.00", status.Field("spent"));
    }

    [Fact]
    public async Task CheckAnswersWithoutHoldingAnything()
    {
        var tenant = await TenantAsync("1");

        var yes = await silo.RunAsync("check", "--tenant", tenant, "--estimate", "0.6");
        var no = await silo.RunAsync("check", "--tenant", tenant, "--estimate", "1.01");
        var json = await silo.RunAsync("check", "--tenant", tenant, "--estimate", "1", "--json");

        Assert.True(yes.ExitCode == 0, yes.ToString());
        Assert.StartsWith("WOULD BE ADMITTED", yes.Stdout, StringComparison.Ordinal);
        Assert.Equal("$1.00", yes.Field("remaining"));
        Assert.Equal(0, no.ExitCode);
        Assert.StartsWith("DENIED", no.Stdout, StringComparison.Ordinal);
        Assert.Equal("budget exhausted", no.Field("reason"));
        Assert.Equal("tenant/" + tenant, no.Field("scope"));
        var answer = Assert.Single(json.JsonLines());
        Assert.Equal("ADMITTED", answer.GetProperty("decision").GetString());
        Assert.Equal("1000000000", answer.GetProperty("remainingNanos").GetString());
        var status = await silo.RunAsync("budgets", "get", "tenant/" + tenant);
        Assert.Equal("$0.00 (0 open holds)", status.Field("held"));
    }
}
