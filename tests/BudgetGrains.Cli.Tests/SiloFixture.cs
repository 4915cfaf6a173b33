using System.Text.Json;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Cli.Tests;

/// <summary>One real silo for all CLI tests: Kestrel on a free loopback port, a SQLite file in a temporary directory.</summary>
public sealed class SiloFixture : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetctl-tests-" + Guid.NewGuid().ToString("N"));

    public Silo Silo { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Silo = await Silo.StartAsync(new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir }, logging => logging.SetMinimumLevel(LogLevel.Warning));

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    /// <summary>Runs budgetctl in-process against this silo (or <paramref name="server"/>) and captures what it printed.</summary>
    public async Task<CliRun> RunAsync(params string[] args) => await RunAgainstAsync(Silo.Address.ToString(), args);

    public static async Task<CliRun> RunAgainstAsync(string server, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await Cli.RunAsync([.. args, "--server", server], stdout, stderr);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A scope key no other test uses, so tests can share the silo and run in any order.</summary>
    public static string UniqueKey(string name) => $"{name}-{Guid.NewGuid():N}";
}

/// <summary>The tests that share <see cref="SiloFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class SiloCollection : ICollectionFixture<SiloFixture>
{
    public const string Name = "silo";
}

/// <summary>What one budgetctl run printed and returned.</summary>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The value printed after <paramref name="label"/> on a "label   value" line, or null.</summary>
    public string? Field(string label) => Stdout.Split('\n')
        .Select(line => line.TrimEnd('\r'))
        .Where(line => line.StartsWith(label + " ", StringComparison.Ordinal))
        .Select(line => line[label.Length..].Trim())
        .FirstOrDefault();

    /// <summary>Each stdout line parsed as a JSON object (what --json promises).</summary>
    public IReadOnlyList<JsonElement> JsonLines() => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(line => JsonDocument.Parse(line).RootElement.Clone())
        .ToList();

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
}
