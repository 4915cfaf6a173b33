using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Tasks;

/// <summary>A job reserves its next interval and commits the actual at each checkpoint; its cap stops it between
/// checkpoints, and the job report compares its estimates with what it cost.</summary>
[Collection(SiloCollection.Name)]
public sealed class JobTests(SiloFixture silo)
{
    [Fact]
    public async Task AJobIsStoppedByItsCapAtACheckpointNeverOverIt()
    {
        var (tenant, job) = (Build.UniqueKey("t"), Build.UniqueKey("train"));
        const long cap = 3_500, interval = 1_000, actual = 900;
        var started = await silo.Management.StartJobAsync(new StartJobRequest
            { Tenant = tenant, Job = job, Feature = "fine-tune", EstimateNanos = 5_000, CapNanos = cap });
        Assert.Equal(($"task/{tenant}/{job}", "open", 5_000L, cap), (started.Scope, started.Outcome, started.EstimateNanos, started.CapNanos));
        var scope = started.Scope;
        Assert.Equal(cap, (await silo.Management.StatusAsync(scope)).LimitNanos);

        var attribution = new Attribution { Tenant = tenant, Feature = "fine-tune", Task = job };
        var checkpoints = 0;
        ReserveResponse next;
        while ((next = await silo.Admission.ReserveAsync(Build.Reserve(attribution, interval))).Decision == Decision.Admitted)
        {
            // The interval runs; at its checkpoint the job commits what it really used.
            var status = await silo.Management.StatusAsync(scope);
            Assert.True(status.SpentNanos + status.HeldNanos <= cap);
            await silo.Admission.CommitAsync(new CommitRequest { ReservationId = next.ReservationId, ActualNanos = actual });
            checkpoints++;
        }
        await silo.Management.EndTaskAsync(new EndTaskRequest { Scope = scope, Outcome = "stopped" });

        // 3 x 900 spent; a 4th interval would need 2,700 + 1,000 > 3,500.
        Assert.Equal((DenyReason.BudgetExhausted, scope, 800L), (next.Reason, next.DeniedScope, next.RemainingNanos));
        Assert.Equal(3, checkpoints);
        var final = await silo.Management.StatusAsync(scope);
        Assert.Equal((2_700L, 0L), (final.SpentNanos, final.HeldNanos));

        var report = await silo.Management.GetJobReportAsync(new GetJobReportRequest { Tenant = tenant });
        var row = Assert.Single(report.Jobs);
        Assert.Equal((job, "fine-tune", "stopped", 3L, 3_000L, 2_700L, 1L), (row.Job_, row.Feature, row.Outcome, row.Intervals, row.IntervalEstimateNanos, row.ActualNanos, row.Denials));
        // 2,700 - 5,000 = -2,300, -46.00% of the pre-run estimate.
        Assert.Equal((-2_300L, -4_600L), (row.EstimateDifferenceNanos, row.EstimateErrorBasisPoints));
        Assert.True(row.EndedAtUnixMs >= row.StartedAtUnixMs && row.StartedAtUnixMs > 0);

        var outcomes = await silo.Management.GetCostPerOutcomeAsync(new GetCostPerOutcomeRequest { GroupBy = "feature", Tenant = tenant, Kind = "job" });
        Assert.Equal([("fine-tune", "stopped", 1L, 2_700L, 3L)], outcomes.Rows.Select(r => (r.Key, r.Outcome, r.Tasks, r.CostNanos, r.Inferences)));
    }

    [Fact]
    public async Task StartingAJobAgainWithOtherValuesOrAfterItEndedIsRefused()
    {
        var (tenant, job) = (Build.UniqueKey("t"), Build.UniqueKey("eval"));
        var start = new StartJobRequest { Tenant = tenant, Job = job, EstimateNanos = 100, CapNanos = 200 };
        var first = await silo.Management.StartJobAsync(start);
        Assert.Equal(first, await silo.Management.StartJobAsync(start));

        var other = await Assert.ThrowsAsync<RpcException>(() => silo.Management.StartJobAsync(new StartJobRequest(start) { CapNanos = 300 }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, other.StatusCode);
        await silo.Management.EndTaskAsync(new EndTaskRequest { Scope = first.Scope, Outcome = "completed" });
        var ended = await Assert.ThrowsAsync<RpcException>(() => silo.Management.StartJobAsync(new StartJobRequest(start) { Job = job }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, ended.StatusCode);

        foreach (var bad in new[]
        {
            new StartJobRequest { Tenant = tenant, Job = "" },
            new StartJobRequest { Tenant = tenant, Job = "x", CapNanos = -1 },
            new StartJobRequest { Tenant = tenant, Job = "x", Feature = "no spaces" },
        })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => silo.Management.StartJobAsync(bad).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        }
        Assert.Equal(["completed"], (await silo.Management.GetJobReportAsync(new GetJobReportRequest { Tenant = tenant })).Jobs.Select(j => j.Outcome));
    }

    [Fact]
    public async Task TheJobReportPagesInScopeOrder()
    {
        var tenant = Build.UniqueKey("t");
        foreach (var job in new[] { "j1", "j2", "j3" })
            await silo.Management.StartJobAsync(new StartJobRequest { Tenant = tenant, Job = job, EstimateNanos = 1 });

        var first = await silo.Management.GetJobReportAsync(new GetJobReportRequest { Tenant = tenant, PageSize = 2 });
        var second = await silo.Management.GetJobReportAsync(new GetJobReportRequest { Tenant = tenant, PageSize = 2, PageToken = first.NextPageToken });
        Assert.Equal(["j1", "j2"], first.Jobs.Select(j => j.Job_));
        Assert.Equal(["j3"], second.Jobs.Select(j => j.Job_));
        Assert.Equal("", second.NextPageToken);
    }
}

/// <summary>A job's estimate, cap and outcome are durable: after a restart the same answers, the same refusals.</summary>
public sealed class JobRestartTests
{
    [Fact]
    public async Task AJobsFactsAndOutcomeSurviveARestart()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("jobs-restart"));
        var start = new StartJobRequest { Tenant = "acme", Job = "eval-1", Feature = "evals", EstimateNanos = 2_000, CapNanos = 1_500 };
        var job = await silo.Management.StartJobAsync(start);
        await silo.SpendAsync(new Attribution { Tenant = "acme", Feature = "evals", Task = "eval-1" }, 700);
        await silo.RestartAsync();

        // Still a job with the same values (a repeat is a no-op), still capped.
        Assert.Equal(job.Scope, (await silo.Management.StartJobAsync(start)).Scope);
        Assert.Equal(1_500, (await silo.Management.StatusAsync(job.Scope)).LimitNanos);
        await silo.Management.EndTaskAsync(new EndTaskRequest { Scope = job.Scope, Outcome = "completed" });
        await silo.RestartAsync();

        var changed = await Assert.ThrowsAsync<RpcException>(() => silo.Management.EndTaskAsync(new EndTaskRequest { Scope = job.Scope, Outcome = "failed" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, changed.StatusCode);
        var row = Assert.Single((await silo.Management.GetJobReportAsync(new GetJobReportRequest { Tenant = "acme" })).Jobs);
        Assert.Equal(("completed", 2_000L, 1_500L, 1L, 700L, 700L), (row.Outcome, row.EstimateNanos, row.CapNanos, row.Intervals, row.IntervalEstimateNanos, row.ActualNanos));
    }
}
