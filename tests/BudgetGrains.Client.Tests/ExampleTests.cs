using System.Text.Json;

namespace BudgetGrains.Client.Tests;

/// <summary>
/// The Python and Node examples run their agent loop against the silo: limit 1,000, estimate 400, each call costs 300,
/// step 2's model call fails. Steps 1, 3, 4 commit (the fourth is admitted exactly at the limit: 600 + 400 = 1,000),
/// step 2's hold is released, step 5 is denied with 100 remaining.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class ExampleTests(SiloFixture silo)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task PythonAgentLoopStopsWhenDenied()
    {
        var python = Components.RequirePythonWithGrpc();
        var script = Path.Combine(Components.RepositoryRoot, "examples", "python", "agent_loop.py");

        await RunAgentLoopAsync(python, [script], "py");
    }

    [SkippableFact]
    public async Task NodeAgentLoopStopsWhenDenied()
    {
        var node = Components.RequireNodeWithExampleDependencies();
        var script = Path.Combine(Components.RepositoryRoot, "examples", "node", "agentLoop.js");

        await RunAgentLoopAsync(node, [script], "js");
    }

    private async Task RunAgentLoopAsync(string program, string[] script, string name)
    {
        var tenant = $"{name}-{Guid.NewGuid():N}";

        var (exitCode, output) = Components.Run(program,
            [.. script, silo.HostPort, "--tenant", tenant, "--create-budget", "1000", "--estimate-nanos", "400", "--cost-nanos", "300", "--fail-step", "2"],
            RunTimeout);

        Assert.True(exitCode == 0, output);
        var lines = output.Trim().Split('\n');
        Assert.Contains("step 2: model call failed (the model timed out); hold released", lines);
        Assert.Contains($"step 5: DENIED BUDGET_EXHAUSTED at tenant/{tenant} (remaining $0.0000001); stopping", lines);
        Assert.DoesNotContain(lines, line => line.StartsWith("step 6", StringComparison.Ordinal));
        Assert.StartsWith("SUMMARY ", lines[^1]);
        var summary = JsonDocument.Parse(lines[^1]["SUMMARY ".Length..]).RootElement;
        Assert.Equal(3, summary.GetProperty("calls").GetInt32());
        Assert.Equal(1, summary.GetProperty("failed").GetInt32());
        Assert.Equal(900, summary.GetProperty("spent_nanos").GetInt64());
        Assert.Equal("BUDGET_EXHAUSTED", summary.GetProperty("reason").GetString());
        Assert.Equal($"tenant/{tenant}", summary.GetProperty("denied_scope").GetString());

        var status = await silo.StatusAsync($"tenant/{tenant}");
        Assert.Equal((1_000L, 900L, 0L, 0, 3L, 1L),
            (status.LimitNanos, status.SpentNanos, status.HeldNanos, status.OpenHolds, status.Commits, status.Denials));
    }

    /// <summary>The job runner: cap 3,500, intervals of at most 1,000 costing 800 to 1,000 each, ten checkpoints needed. The
    /// cap stops it at a checkpoint: the reserve of the next interval is denied, so spend never passes the cap.</summary>
    [SkippableFact]
    public async Task PythonJobRunnerIsStoppedByItsCapAtACheckpoint()
    {
        var python = Components.RequirePythonWithGrpc();
        var script = Path.Combine(Components.RepositoryRoot, "examples", "python", "job_runner.py");
        var (tenant, job) = ($"jobs-{Guid.NewGuid():N}", "finetune");

        var (exitCode, output) = Components.Run(python, [script, silo.HostPort, "--tenant", tenant, "--job", job, "--estimate-nanos", "5000",
            "--cap-nanos", "3500", "--interval-nanos", "1000", "--checkpoints", "10", "--interval-seconds", "0", "--seed", "7"], RunTimeout);

        Assert.True(exitCode == 0, output);
        var lines = output.Trim().Split('\n');
        var summary = JsonDocument.Parse(lines[^1]["SUMMARY ".Length..]).RootElement;
        var (checkpoints, spent) = (summary.GetProperty("checkpoints").GetInt32(), summary.GetProperty("spent_nanos").GetInt64());
        Assert.Equal("stopped", summary.GetProperty("outcome").GetString());
        // Stopped because the next interval could not fit: spent + 1,000 > 3,500, and never over the cap.
        Assert.InRange(spent, 2_501, 3_500);
        Assert.Contains(lines, l => l.StartsWith($"interval {checkpoints + 1}: DENIED BUDGET_EXHAUSTED at task/{tenant}/{job}", StringComparison.Ordinal));
        Assert.Equal((spent, checkpoints * 1_000L, 5_000L), (summary.GetProperty("actual_nanos").GetInt64(),
            summary.GetProperty("interval_estimate_nanos").GetInt64(), summary.GetProperty("estimate_nanos").GetInt64()));

        var status = await silo.StatusAsync($"task/{tenant}/{job}");
        Assert.Equal((3_500L, spent, 0L, true, (long)checkpoints), (status.LimitNanos, status.SpentNanos, status.HeldNanos, status.Ended, status.Commits));
    }
}
