namespace BudgetGrains.Cli.Tests;

/// <summary>tasks end --outcome, tasks outcomes, jobs start and jobs report against a real silo.</summary>
[Collection(SiloCollection.Name)]
public sealed class TaskReportCommandTests(SiloFixture silo)
{
    [Fact]
    public async Task AJobStoppedAtItsCapShowsInTheJobReportAndCostPerOutcome()
    {
        var (tenant, job) = (SiloFixture.UniqueKey("t"), SiloFixture.UniqueKey("train"));

        var started = await silo.RunAsync("jobs", "start", tenant, job, "--estimate", "0.000005", "--cap", "0.0000035", "--feature", "fine-tune");
        Assert.True(started.ExitCode == 0, started.ToString());
        Assert.Equal($"task/{tenant}/{job}", started.Field("job"));
        Assert.Equal("$0.0000035", started.Field("cap"));
        // Three intervals of $0.000001 fit under the cap; the fourth is denied.
        for (var i = 0; i < 4; i++)
        {
            var id = $"{job}-{i}";
            var reserve = await silo.RunAsync("reserve", "--tenant", tenant, "--feature", "fine-tune", "--task", job, "--estimate", "0.000001", "--request-id", id);
            Assert.True(reserve.ExitCode == 0, reserve.ToString());
            if (i == 3)
            {
                Assert.StartsWith("DENIED", reserve.Stdout, StringComparison.Ordinal);
                break;
            }
            Assert.Equal(0, (await silo.RunAsync("commit", id, "--actual", "0.0000009")).ExitCode);
        }
        var ended = await silo.RunAsync("tasks", "end", $"task/{tenant}/{job}", "--outcome", "stopped");
        Assert.Equal("stopped", ended.Field("outcome"));

        var report = await silo.RunAsync("jobs", "report", "--tenant", tenant);
        Assert.True(report.ExitCode == 0, report.ToString());
        Assert.Contains("stopped", report.Stdout, StringComparison.Ordinal);
        Assert.Contains("-46.00%", report.Stdout, StringComparison.Ordinal);
        var json = Assert.Single((await silo.RunAsync("jobs", "report", "--tenant", tenant, "--json")).JsonLines());
        Assert.Equal(("2700", "3000", "3"), (json.GetProperty("actualNanos").GetString(), json.GetProperty("intervalEstimateNanos").GetString(),
            json.GetProperty("intervals").GetString()));

        var outcomes = await silo.RunAsync("tasks", "outcomes", "--tenant", tenant, "--kind", "job");
        Assert.True(outcomes.ExitCode == 0, outcomes.ToString());
        Assert.Contains("fine-tune", outcomes.Stdout, StringComparison.Ordinal);
        Assert.Contains("1 task, $0.0000027", outcomes.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, (await silo.RunAsync("tasks", "outcomes", "--by", "model")).ExitCode);
        var bad = await silo.RunAsync("tasks", "end", $"task/{tenant}/{job}", "--outcome", "Resolved");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("lower case", bad.Stderr, StringComparison.Ordinal);
    }
}
