namespace BudgetGrains.Cli.Tests;

/// <summary>export ledger/usage against a real silo: the file written, stdout, the time range, and bad options.</summary>
[Collection(SiloCollection.Name)]
public sealed class ExportCommandTests(SiloFixture silo) : IDisposable
{
    private readonly string _files = Directory.CreateTempSubdirectory("budgetctl-export-").FullName;

    public void Dispose() => Directory.Delete(_files, recursive: true);

    private async Task<string> CommitAsync(string actual)
    {
        var tenant = SiloFixture.UniqueKey("export");
        var id = "export-" + tenant;
        Assert.Equal(0, (await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.25", "--request-id", id)).ExitCode);
        Assert.Equal(0, (await silo.RunAsync("commit", id, "--actual", actual, "--outcome", "resolved")).ExitCode);
        return tenant;
    }

    [Fact]
    public async Task ExportLedgerWritesTheFileAndSaysHowManyRows()
    {
        var tenant = await CommitAsync("0.042");
        var file = Path.Combine(_files, "ledger.csv");

        var run = await silo.RunAsync("export", "ledger", "--format", "focus", "--out", file);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = await File.ReadAllLinesAsync(file);
        Assert.StartsWith("BilledCost,EffectiveCost,", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("0.042000000,0.042000000,", StringComparison.Ordinal) && l.Contains(tenant, StringComparison.Ordinal));
        Assert.Matches($@"^exported {lines.Length - 1:N0} rows \([\d,]+ bytes\) to {System.Text.RegularExpressions.Regex.Escape(file)}\n$", run.Stdout);
        Assert.False(File.Exists(file + ".partial"));
    }

    [Fact]
    public async Task ExportToStdoutHonoursTheRange()
    {
        var tenant = await CommitAsync("0.01");
        var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        var all = await silo.RunAsync("export", "ledger", "--format", "jsonl", "--to", tomorrow);
        var later = await silo.RunAsync("export", "ledger", "--format", "jsonl", "--from", tomorrow);

        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Contains(all.JsonLines(), row => row.GetProperty("tenant").GetString() == tenant);
        Assert.Equal("", later.Stdout);
        Assert.Equal(0, later.ExitCode);
    }

    [Theory]
    [InlineData("--format", "xml")]
    [InlineData("--from", "yesterday")]
    [InlineData("--from", "2026-11-01T10:00:00")]
    public async Task ABadOptionIsAUsageErrorAndWritesNoFile(string option, string value)
    {
        var file = Path.Combine(_files, "bad.csv");

        var run = await silo.RunAsync("export", "ledger", option, value, "--out", file);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(option, run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task ARangeTheServerRefusesLeavesNoFile()
    {
        var file = Path.Combine(_files, "refused.csv");

        var run = await silo.RunAsync("export", "usage", "--from", "2026-11-02", "--to", "2026-11-01", "--out", file);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("must be after from_unix_ms", run.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("(InvalidArgument)\n", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(file));
        Assert.False(File.Exists(file + ".partial"));
    }
}
