namespace BudgetGrains.Cli.Tests;

/// <summary>meters list/set/import/delete and --meter on reserve, check and commit, against a real silo.</summary>
[Collection(SiloCollection.Name)]
public sealed class MetersCommandTests(SiloFixture silo) : IDisposable
{
    private readonly string _files = Directory.CreateTempSubdirectory("budgetctl-meters-").FullName;

    public void Dispose() => Directory.Delete(_files, recursive: true);

    /// <summary>A meter name no other test uses (lowercase letters, digits and _).</summary>
    private static string Unique(string name) => $"{name}_{Guid.NewGuid():N}";

    [Fact]
    public async Task SetStoresTheMeterAndPrintsItsPriceInDollarsPerItsUnits()
    {
        var name = Unique("emb");

        var run = await silo.RunAsync("meters", "set", name, "--unit", "token", "--price", "0.02", "--per", "1000000", "--as-of", "2026-11-30");
        var json = await silo.RunAsync("meters", "set", name, "--unit", "token", "--price", "0.02", "--per", "1000000", "--as-of", "2026-11-30", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(name, run.Field("meter"));
        Assert.Equal("token", run.Field("unit"));
        Assert.Equal("$0.02 per 1,000,000 × token", run.Field("price"));
        Assert.Equal("2026-11-30", run.Field("as of"));
        var meter = Assert.Single(json.JsonLines());
        Assert.Equal(("20000000", "1000000"), (meter.GetProperty("priceNanos").GetString(), meter.GetProperty("perUnits").GetString()));
    }

    [Fact]
    public async Task ListImportAndDeleteMirrorThePricesCommands()
    {
        var prefix = Unique("list") + "_";
        var file = Write("meters.json", $$"""
            {"meters": [
              {"name": "{{prefix}}gpu", "unit": "second", "priceNanos": 500000, "asOf": "2026-11-01"},
              {"name": "{{prefix}}egress", "unit": "GB", "price_nanos": "90000000", "per_units": 1, "as_of": "2026-11-02"}
            ]}
            """);

        var imported = await silo.RunAsync("meters", "import", file);
        var listed = await silo.RunAsync("meters", "list", "--prefix", prefix, "--page-size", "1");
        var deleted = await silo.RunAsync("meters", "delete", prefix + "gpu");
        var again = await silo.RunAsync("meters", "delete", prefix + "gpu");
        var after = await silo.RunAsync("meters", "list", "--prefix", prefix, "--json");

        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.Equal("imported 2 meters from meters.json (2 new, 0 replaced)", imported.Stdout.Trim());
        var rows = listed.Stdout.Split('\n').Where(line => line.Contains(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Contains("$0.09 per GB", rows[0], StringComparison.Ordinal);
        Assert.Contains("$0.0005 per second", rows[1], StringComparison.Ordinal);
        Assert.Contains("2 meters", listed.Stdout, StringComparison.Ordinal);
        Assert.StartsWith("DELETED", deleted.Stdout, StringComparison.Ordinal);
        Assert.StartsWith("NOT FOUND", again.Stdout, StringComparison.Ordinal);
        Assert.Equal([prefix + "egress"], after.JsonLines().Select(l => l.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task ImportOfAFileWithABadEntryImportsNothingAndNamesTheEntry()
    {
        var good = Unique("good");
        var file = Write("bad.json", $$"""{"meters": [{"name": "{{good}}", "unit": "call", "priceNanos": 1}, {"name": "Bad", "unit": "call"}]}""");

        var run = await silo.RunAsync("meters", "import", file);
        var listed = await silo.RunAsync("meters", "list", "--prefix", good);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: bad.json: meters[1].name 'Bad' must start with a lowercase ASCII letter", run.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("(InvalidArgument); nothing was imported", run.Stderr.Trim(), StringComparison.Ordinal);
        Assert.Equal("no meters", listed.Stdout.Trim());
    }

    [Fact]
    public async Task ReserveCheckAndCommitWithMetersArePricedByTheServerAndShowTheMeters()
    {
        var gpu = Unique("gpu");
        await silo.RunAsync("meters", "set", gpu, "--unit", "second", "--price", "0.0005");
        var tenant = SiloFixture.UniqueKey("meter-tenant");
        await silo.RunAsync("budgets", "set", "tenant/" + tenant, "--limit", "100");
        var requestId = "met-" + Guid.NewGuid().ToString("N");

        var check = await silo.RunAsync("check", "--tenant", tenant, "--meter", $"{gpu}=3600");
        var reserve = await silo.RunAsync("reserve", "--tenant", tenant, "--request-id", requestId, "--estimate", "0.2", "--meter", $"{gpu}=3600");
        var commit = await silo.RunAsync("commit", requestId, "--meter", $"{gpu}=1800", "--meter", $"{Unique("other")}=1");
        var committed = await silo.RunAsync("commit", requestId, "--meter", $"{gpu}=1800");

        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Equal($"{gpu} 3,600", check.Field("meters"));
        Assert.True(reserve.ExitCode == 0, reserve.ToString());
        Assert.Equal("$2.00", reserve.Field("held"));
        Assert.Equal($"{gpu} 3,600", reserve.Field("meters"));
        Assert.Equal(1, commit.ExitCode);
        Assert.Contains("is not in the meter catalog", commit.Stderr, StringComparison.Ordinal);
        Assert.True(committed.ExitCode == 0, committed.ToString());
        Assert.Equal("$0.90", committed.Field("charged"));
        Assert.Equal($"{gpu} 1,800", committed.Field("meters"));
    }

    [Fact]
    public async Task BudgetsSetMeterLimitCapsTheMeterAndShowAndListShowIt()
    {
        var (gpu, queries) = (Unique("gpu"), Unique("vq"));
        await silo.RunAsync("meters", "set", gpu, "--unit", "second", "--price", "0.0005");
        await silo.RunAsync("meters", "set", queries, "--unit", "query", "--price", "0.00001");
        var team = "team/" + SiloFixture.UniqueKey("meter-limit");

        var set = await silo.RunAsync("budgets", "set", team, "--limit", "100", "--meter-limit", $"{gpu}=3600", "--meter-limit", $"{queries}=1000");
        var reserve = await silo.RunAsync("reserve", "--team", team.Split('/')[1], "--meter", $"{gpu}=3000");
        var denied = await silo.RunAsync("reserve", "--team", team.Split('/')[1], "--meter", $"{gpu}=601");
        var kept = await silo.RunAsync("budgets", "set", team, "--limit", "50");
        var get = await silo.RunAsync("budgets", "get", team, "--json");
        var list = await silo.RunAsync("budgets", "list", "--prefix", team);
        var removed = await silo.RunAsync("budgets", "set", team, "--meter-limit", "none");

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal($"{gpu} 0 used + 0 held of 3,600", set.Field("meter limit"));
        Assert.True(reserve.ExitCode == 0, reserve.ToString());
        Assert.Equal(("meter limit", team, $"{gpu}: 600 left"), (denied.Field("reason"), denied.Field("scope"), denied.Field("meter")));
        Assert.Contains($"{gpu} 0 used + 3,000 held of 3,600", kept.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{queries} 0 used + 0 held of 1,000", kept.Stdout, StringComparison.Ordinal);
        var meters = Assert.Single(get.JsonLines()).GetProperty("meters").EnumerateArray()
            .Select(m => (m.GetProperty("meter").GetString()!, m.GetProperty("maxQuantity").GetString()!, m.GetProperty("heldQuantity").GetString()!)).ToList();
        Assert.Equal(new[] { (gpu, "3600", "3000"), (queries, "1000", "0") }.OrderBy(m => m.Item1, StringComparer.Ordinal), meters);
        Assert.Contains("meter limits", list.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{gpu} 0 used + 3,000 held of", list.Stdout, StringComparison.Ordinal);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.DoesNotContain("meter limit", removed.Stdout, StringComparison.Ordinal);
        Assert.Equal("$50.00", removed.Field("limit"));
    }

    [Theory]
    [InlineData("--meter-limit: 'gpu_seconds' is not NAME=QUANTITY", "budgets", "set", "team/x", "--meter-limit", "gpu_seconds")]
    [InlineData("--meter-limit: gpu_seconds is given twice", "budgets", "set", "team/x", "--meter-limit", "gpu_seconds=1", "--meter-limit", "gpu_seconds=2")]
    [InlineData("--meter: 'gpu_seconds' is not NAME=QUANTITY", "reserve", "--tenant", "acme", "--meter", "gpu_seconds")]
    [InlineData("--meter: 'gpu_seconds=-1' is not NAME=QUANTITY", "check", "--tenant", "acme", "--meter", "gpu_seconds=-1")]
    [InlineData("--meter: gpu_seconds is given twice", "commit", "r-1", "--meter", "gpu_seconds=1", "--meter", "gpu_seconds=2")]
    [InlineData("give --estimate, or --model with token counts, or --meter", "check", "--tenant", "acme")]
    [InlineData("--per must be 1 or more", "meters", "set", "m", "--unit", "s", "--price", "1", "--per", "0")]
    public async Task MeterOptionsThatDoNotMakeAUsageAreUsageErrors(string message, params string[] args)
    {
        var run = await silo.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Stderr.Split('\n')[0], StringComparison.Ordinal);
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_files, name);
        File.WriteAllText(path, content);
        return path;
    }
}
