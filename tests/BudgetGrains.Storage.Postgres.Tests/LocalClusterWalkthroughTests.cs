using System.Diagnostics;
using Xunit.Abstractions;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>The README's "Three silos on one machine" walkthrough, run as written through deploy/local-cluster.sh (in a
/// state directory of its own, with the silo this test run built).</summary>
[Collection(PostgresCollection.Name)] // not alongside the cluster tests: two cores
public sealed class LocalClusterWalkthroughTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task TheReadmeWalkthroughRuns()
    {
        PostgresServer.RequireBinaries();
        var root = FindRepositoryRoot();
        var readme = await File.ReadAllTextAsync(Path.Combine(root, "README.md"));
        var section = readme[readme.IndexOf("## Three silos on one machine", StringComparison.Ordinal)..];
        var start = section.IndexOf("```sh\n", StringComparison.Ordinal) + "```sh\n".Length;
        var script = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        var state = Path.Combine("/tmp", "budgetgrains-walkthrough-" + Guid.NewGuid().ToString("N")[..8]);
        var info = new ProcessStartInfo("bash", ["-euo", "pipefail", "-c", script])
        {
            WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment["BUDGETGRAINS_CLUSTER_DIR"] = state;
        info.Environment["BUDGETGRAINS_SERVER"] = Path.Combine(AppContext.BaseDirectory, "BudgetGrains.Server.dll");
        using var bash = Process.Start(info)!;
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        var exited = bash.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(3))) != exited)
        {
            bash.Kill(entireProcessTree: true);
            Run(root, state, "down");
        }
        var text = await stdout;
        output.WriteLine(text + await stderr);
        Assert.Equal(0, bash.ExitCode);
        Assert.Matches(@"(?m)^silo 1 pid \d+ grpc http://127\.0\.0\.1:\d+ rest http://127\.0\.0\.1:\d+$", text);
        Assert.Matches(@"(?m)^silo 3 pid \d+ grpc http://127\.0\.0\.1:\d+ rest http://127\.0\.0\.1:\d+$", text);
        Assert.Equal(2, text.Split("\"decision\": \"ADMITTED\"").Length - 1);
        Assert.Contains("\"heldNanos\": \"1000\"", text.Split('\n').Last(l => l.Contains("\"scope\": \"team/demo\"", StringComparison.Ordinal)));
        Assert.Contains("local cluster stopped", text);
        Assert.False(Directory.Exists(state));
    }

    private static void Run(string root, string state, string command)
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(root, "deploy", "local-cluster.sh"), command]) { UseShellExecute = false };
        info.Environment["BUDGETGRAINS_CLUSTER_DIR"] = state;
        using var process = Process.Start(info)!;
        process.WaitForExit();
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BudgetGrains.sln"))) return dir.FullName;
        throw new InvalidOperationException("BudgetGrains.sln not found above " + AppContext.BaseDirectory);
    }
}
