using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Cli.Tests;

/// <summary>
/// budgetctl sends only the options given (decision 0021): each budget field is left alone by a `budgets set` that does
/// not name it; currencies are ISO 4217; `prices set` and `prices import` store the same prices for what they leave out.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class ControlPlaneCommandTests(SiloFixture silo) : IDisposable
{
    private readonly string _files = Directory.CreateTempSubdirectory("budgetctl-control-").FullName;

    public void Dispose() => Directory.Delete(_files, recursive: true);

    /// <summary>The option that changes one field, and the field's new value in the JSON status.</summary>
    public static TheoryData<string, string[], string, string> Changes => new()
    {
        { "limit", ["--limit", "25"], "limitNanos", "25000000000" },
        { "period", ["--period", "day"], "period", "DAY" },
        { "thresholds", ["--thresholds", "70"], "thresholdPercents", "70" },
        { "parent", ["--parent", "cost_center/other"], "parentKind", "other" },
        { "frozen", ["--frozen", "false"], "frozen", "False" },
        { "currency", ["--currency", "JPY"], "currency", "JPY" },
        { "rpm", ["--rpm", "700"], "requestsPerMinute", "700" },
        { "tpm", ["--tpm", "3000000"], "tokensPerMinute", "3000000" },
    };

    private static readonly string[] Fields =
        ["limitNanos", "period", "thresholdPercents", "parent", "frozen", "currency", "requestsPerMinute", "tokensPerMinute"];

    private async Task<Dictionary<string, string>> StatusAsync(params string[] args)
    {
        var run = await silo.RunAsync([.. args, "--json"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var status = Assert.Single(run.JsonLines());
        return Fields.ToDictionary(f => f, f => status.GetProperty(f) switch
        {
            { ValueKind: System.Text.Json.JsonValueKind.Array } a => string.Join(",", a.EnumerateArray().Select(e => e.GetInt32())),
            var v when v.ValueKind is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => v.GetBoolean().ToString(),
            var v => v.ToString(),
        });
    }

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task SetChangesOnlyTheOptionsGiven(string name, string[] option, string field, string value)
    {
        var key = SiloFixture.UniqueKey(name);
        var scope = "team/" + key;
        var before = await StatusAsync("budgets", "set", scope, "--limit", "30", "--period", "month", "--thresholds", "40,90", "--parent",
            "cost_center/" + key, "--frozen", "--currency", "EUR", "--rpm", "600", "--tpm", "2000000");

        var after = await StatusAsync(["budgets", "set", scope, .. option.Select(o => o == "cost_center/other" ? $"cost_center/other-{key}" : o)]);

        var expected = new Dictionary<string, string>(before);
        if (field == "parentKind") expected["parent"] = $"cost_center/other-{key}";
        else expected[field] = value;
        Assert.Equal(expected, after);
    }

    [Fact]
    public async Task TheReadmeLineKeepsTheParentThePeriodAndTheKillSwitch()
    {
        var key = SiloFixture.UniqueKey("readme");
        await silo.RunAsync("budgets", "set", "cost_center/" + key);
        var before = await StatusAsync("budgets", "set", "team/" + key, "--parent", "cost_center/" + key, "--period", "month", "--frozen");

        var after = await StatusAsync("budgets", "set", "team/" + key, "--limit", "25", "--rpm", "600", "--tpm", "2000000");

        Assert.Equal((before["parent"], "MONTH", "True"), (after["parent"], after["period"], after["frozen"]));
        Assert.Equal(("25000000000", "600", "2000000"), (after["limitNanos"], after["requestsPerMinute"], after["tokensPerMinute"]));
    }

    [Fact]
    public async Task ParentNoneRemovesTheParent()
    {
        var key = SiloFixture.UniqueKey("noparent");
        await StatusAsync("budgets", "set", "team/" + key, "--parent", "cost_center/" + key, "--limit", "1");

        var after = await StatusAsync("budgets", "set", "team/" + key, "--parent", "none");

        Assert.Equal(("", "1000000000"), (after["parent"], after["limitNanos"]));
    }

    [Theory]
    [InlineData("XYZ", "currency 'XYZ' is not an ISO 4217 currency code")]
    [InlineData("usd", "currency 'usd' must be written in capitals: USD")]
    public async Task ACurrencyOffTheIsoListIsRefused(string currency, string message)
    {
        var scope = "team/" + SiloFixture.UniqueKey("xyz");

        var run = await silo.RunAsync("budgets", "set", scope, "--limit", "1", "--currency", currency);

        Assert.Equal(Cli.Failed, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
        Assert.Equal("no limit", (await silo.RunAsync("budgets", "get", scope)).Field("limit"));
    }

    [Fact]
    public async Task AParentInAnotherCurrencyIsRefused()
    {
        var key = SiloFixture.UniqueKey("fx");
        await silo.RunAsync("budgets", "set", "cost_center/" + key, "--limit", "100", "--currency", "EUR");

        var run = await silo.RunAsync("budgets", "set", "team/" + key, "--limit", "10", "--parent", "cost_center/" + key);

        Assert.Equal(Cli.Failed, run.ExitCode);
        Assert.Contains("EUR", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("USD", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PricesImportAndSetStoreTheSamePricesForWhatTheyLeaveOut()
    {
        var key = SiloFixture.UniqueKey("pricerule");
        var file = Path.Combine(_files, "prices.json");
        await File.WriteAllTextAsync(file, $$"""{"prices": [{"model": "{{key}}-import", "inputNanosPerToken": 2500, "outputNanosPerToken": 10000, "asOf": "2026-11-01"}]}""");

        var imported = await silo.RunAsync("prices", "import", file);
        var set = await silo.RunAsync("prices", "set", key + "-set", "--input", "2.50", "--output", "10", "--as-of", "2026-11-01");
        var listed = await silo.RunAsync("prices", "list", "--prefix", key, "--json");

        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.True(set.ExitCode == 0, set.ToString());
        var prices = listed.JsonLines().ToDictionary(p => p.GetProperty("model").GetString()!, p =>
            string.Join("/", new[] { "inputNanosPerToken", "cachedInputNanosPerToken", "outputNanosPerToken", "reasoningNanosPerToken" }
                .Select(f => p.GetProperty(f).GetString())));
        Assert.Equal("2500/2500/10000/10000", prices[key + "-import"]);
        Assert.Equal(prices[key + "-import"], prices[key + "-set"]);
    }

    [Fact]
    public async Task PricesSetRefusesAZeroCachedPriceItWouldNotStore()
    {
        var run = await silo.RunAsync("prices", "set", SiloFixture.UniqueKey("zero"), "--input", "1", "--output", "2", "--cached-input", "0");

        Assert.Equal(Cli.Usage, run.ExitCode);
        Assert.Contains("--cached-input 0", run.Stderr, StringComparison.Ordinal);
    }
}

/// <summary>reserve and check show NO_BUDGET on a closed silo; tenants set/get change and show the tenant's override.</summary>
public sealed class ClosedModeCommandTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetctl-closed-" + Guid.NewGuid().ToString("N"));
    private Silo _silo = null!;

    public async Task InitializeAsync() => _silo = await Silo.StartAsync(
        new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir, UnknownScopes = "closed" }, logging => logging.SetMinimumLevel(LogLevel.Warning));

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private Task<CliRun> RunAsync(params string[] args) => SiloFixture.RunAgainstAsync(_silo.Address.ToString(), args);

    [Fact]
    public async Task ATypoIsDeniedNoBudgetWhereItWasAdmittedUnlimited()
    {
        var (tenant, feature) = (SiloFixture.UniqueKey("acmee"), SiloFixture.UniqueKey("rerankk"));

        var reserve = await RunAsync("reserve", "--tenant", tenant, "--feature", feature, "--estimate", "500");
        var check = await RunAsync("check", "--tenant", tenant, "--feature", feature, "--estimate", "500");

        Assert.True(reserve.ExitCode == 0, reserve.ToString());
        Assert.Contains("DENIED", reserve.Stdout, StringComparison.Ordinal);
        Assert.Equal("no budget", reserve.Field("reason"));
        Assert.Equal("feature/" + feature, reserve.Field("scope"));
        Assert.Contains("unknown scopes are closed", reserve.Field("why"), StringComparison.Ordinal);
        Assert.Equal("no budget", check.Field("reason"));
    }

    [Fact]
    public async Task TenantsSetOpenAdmitsThatTenant()
    {
        var tenant = SiloFixture.UniqueKey("open");

        var set = await RunAsync("tenants", "set", tenant, "--unknown-scopes", "open");
        var reserve = await RunAsync("reserve", "--tenant", tenant, "--estimate", "1");
        var reset = await RunAsync("tenants", "set", tenant, "--unknown-scopes", "deployment");
        var get = await RunAsync("tenants", "get", tenant, "--json");

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.StartsWith("open", set.Field("unbudgeted"), StringComparison.Ordinal);
        Assert.Contains("ADMITTED", reserve.Stdout, StringComparison.Ordinal);
        Assert.Contains("(the deployment's setting)", reset.Field("unbudgeted"), StringComparison.Ordinal);
        Assert.Equal("UNKNOWN_SCOPES_CLOSED", Assert.Single(get.JsonLines()).GetProperty("effectiveUnknownScopes").GetString());
    }
}
