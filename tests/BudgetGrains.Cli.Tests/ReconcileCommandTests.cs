namespace BudgetGrains.Cli.Tests;

/// <summary>reconcile import/report against a real silo with the example bill of examples/bills.</summary>
[Collection(SiloCollection.Name)]
public sealed class ReconcileCommandTests(SiloFixture silo)
{
    private static string Example(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "examples", "bills", name))) return Path.Combine(dir.FullName, "examples", "bills", name);
        throw new FileNotFoundException(name);
    }

    [Fact]
    public async Task ImportingTheExampleFocusBillReportsItsDaysAndDrift()
    {
        var id = SiloFixture.UniqueKey("focus-example");

        var imported = await silo.RunAsync("reconcile", "import", Example("focus-bill.csv"), "--format", "focus", "--id", id);
        var report = await silo.RunAsync("reconcile", "report", "--from", "2026-11-02", "--to", "2026-11-03", "--provider", "anthropic");

        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.StartsWith("IMPORTED " + id, imported.Stdout, StringComparison.Ordinal);
        Assert.Equal("2 cost lines (1 row not usage, left out)", imported.Field("lines"));
        Assert.Equal("$12.92", imported.Field("billed"));
        Assert.Equal("2026-11-02 to 2026-11-02", imported.Field("days"));
        Assert.True(report.ExitCode == 0, report.ToString());
        Assert.Contains("claude-sonnet-4", report.Stdout, StringComparison.Ordinal);
        Assert.Contains("bill_only", report.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheExampleOpenAiExportImports()
    {
        var run = await silo.RunAsync("reconcile", "import", Example("openai-costs.json"), "--format", "openai", "--id", SiloFixture.UniqueKey("oa"), "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var response = Assert.Single(run.JsonLines());
        Assert.Equal(4, response.GetProperty("lines").GetInt32());
        Assert.Equal("84450000000", response.GetProperty("billedNanos").GetString());
    }

    [Fact]
    public async Task ABadFileFailsWithTheServersReasonAndAWrongFormatIsAUsageError()
    {
        var bad = Path.GetTempFileName();
        await File.WriteAllTextAsync(bad, "not,a,bill\r\n");
        try
        {
            var run = await silo.RunAsync("reconcile", "import", bad, "--format", "focus", "--id", SiloFixture.UniqueKey("bad"));
            var usage = await silo.RunAsync("reconcile", "import", bad, "--format", "xls");

            Assert.Equal(1, run.ExitCode);
            Assert.Contains("no BilledCost column", run.Stderr, StringComparison.Ordinal);
            Assert.Contains("nothing was imported", run.Stderr, StringComparison.Ordinal);
            Assert.Equal(2, usage.ExitCode);
        }
        finally
        {
            File.Delete(bad);
        }
    }
}
