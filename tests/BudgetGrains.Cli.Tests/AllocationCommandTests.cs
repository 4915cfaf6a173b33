using System.Globalization;

namespace BudgetGrains.Cli.Tests;

/// <summary>allocation import/report against a real silo: the example files of examples/shared-costs, a cost split over a
/// tenant that spent through the CLI, and bad files refused before anything is sent.</summary>
[Collection(SiloCollection.Name)]
public sealed class AllocationCommandTests(SiloFixture silo)
{
    private static string Example(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "examples", "shared-costs", name))) return Path.Combine(dir.FullName, "examples", "shared-costs", name);
        throw new FileNotFoundException(name);
    }

    private static async Task<string> FileWithAsync(string extension, string content)
    {
        var path = Path.Combine(Path.GetTempPath(), "budgetctl-allocation-" + Guid.NewGuid().ToString("N") + extension);
        await File.WriteAllTextAsync(path, content);
        return path;
    }

    [Theory]
    [InlineData("shared-costs.csv")]
    [InlineData("shared-costs.json")]
    public async Task TheExampleFilesImportWithAProgressLineAndASummaryTableAndImportingAgainReplaces(string example)
    {
        var first = await silo.RunAsync("allocation", "import", Example(example));
        var again = await silo.RunAsync("allocation", "import", Example(example), "--json");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("imported 3 of 3 costs", first.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("IMPORTED 3 shared costs from " + example, first.Stdout, StringComparison.Ordinal);
        Assert.Contains("vector-cluster", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("$8400.50", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("2026-11-01 to 2026-12-01", first.Stdout, StringComparison.Ordinal);
        Assert.True(again.ExitCode == 0, again.ToString());
        var response = Assert.Single(again.JsonLines());
        Assert.Equal(3, response.GetProperty("replaced").GetInt32());
        Assert.Equal("8400500000000", response.GetProperty("costs")[1].GetProperty("amountNanos").GetString());
        Assert.True(response.GetProperty("costs")[2].GetProperty("estimated").GetBoolean());
    }

    [Fact]
    public async Task AReportShowsATenantsMeasuredAndAllocatedCostAndEachPoolsSplit()
    {
        var tenant = SiloFixture.UniqueKey("alloc");
        var id = SiloFixture.UniqueKey("r");
        Assert.Equal(0, (await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "1", "--request-id", id)).ExitCode);
        Assert.Equal(0, (await silo.RunAsync("commit", id, "--actual", "0.5")).ExitCode);
        var now = DateTimeOffset.UtcNow;
        string At(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var pool = SiloFixture.UniqueKey("pool");
        var file = await FileWithAsync(".csv", $"pool,period_start,period_end,amount,driver,dimension\n{pool},{At(now.AddHours(-1))},{At(now.AddHours(1))},3,spend,tenant\n");
        try
        {
            Assert.Equal(0, (await silo.RunAsync("allocation", "import", file)).ExitCode);
            var report = await silo.RunAsync("allocation", "report", "--by", "tenant", "--from", At(now.AddHours(-1)), "--scope", "tenant/" + tenant);
            var json = await silo.RunAsync("allocation", "report", "--from", At(now.AddHours(-1)), "--scope", "tenant/" + tenant, "--json");

            Assert.True(report.ExitCode == 0, report.ToString());
            Assert.Contains("tenant/" + tenant, report.Stdout, StringComparison.Ordinal);
            Assert.Contains("$0.50", report.Stdout, StringComparison.Ordinal);
            Assert.Contains(pool, report.Stdout, StringComparison.Ordinal);
            var row = Assert.Single(json.JsonLines()).GetProperty("rows").EnumerateArray().Single();
            var share = row.GetProperty("figures").EnumerateArray().Single(f => f.GetProperty("source").GetString() == pool);
            Assert.Equal("allocated", share.GetProperty("label").GetString());
            Assert.Equal("500000000", share.GetProperty("driverQuantity").GetString());
            Assert.Equal("500000000", row.GetProperty("measuredNanos").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(".csv", "pool,period_start,amount,driver,dimension\nx,2026-11-01,1,calls,tenant\n", "no period_end column")]
    [InlineData(".csv", "pool,period_start,period_end,amount,driver,dimension\nx,2026-11-01,2026-12-01,1.0000000001,calls,tenant\n", "row 2: amount '1.0000000001' has more than 9 decimals")]
    [InlineData(".csv", "pool,period_start,period_end,amount,driver,dimension\nx,yesterday,2026-12-01,1,calls,tenant\n", "row 2: period_start 'yesterday' is not a date")]
    [InlineData(".json", "{\"pool\": \"x\"}", "the JSON must be an array of objects")]
    [InlineData(".json", "[{\"pool\": \"x\", \"owner\": \"me\"}]", "item 1: field 'owner' is unknown")]
    public async Task ABadFileIsRefusedNamingTheRowAndNothingIsSent(string extension, string content, string message)
    {
        var file = await FileWithAsync(extension, content);
        try
        {
            var run = await silo.RunAsync("allocation", "import", file);

            Assert.Equal(1, run.ExitCode);
            Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
            Assert.Contains("nothing was imported", run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task AMeterDriverWithABadMeterNameIsRefusedByTheSilo()
    {
        var file = await FileWithAsync(".csv", $"pool,period_start,period_end,amount,driver,dimension\n{SiloFixture.UniqueKey("gpu")},2026-11-01,2026-12-01,1,meter:GPU-Seconds,feature\n");
        try
        {
            var run = await silo.RunAsync("allocation", "import", file);

            Assert.Equal(1, run.ExitCode);
            Assert.Contains("driver's meter 'GPU-Seconds' must start with a lowercase ASCII letter", run.Stderr, StringComparison.Ordinal);
            Assert.Contains("(InvalidArgument)", run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
