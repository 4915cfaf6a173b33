using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>Cost per outcome and the job report read the task table and the task scopes' counters: the same calls on a
/// silo on PostgreSQL and on one on SQLite give the same reports (docs/decisions/0042, 0043, 0044).</summary>
[Collection(PostgresCollection.Name)]
public sealed class TaskReportParityTests(PostgresFixture postgres) : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-pg-tasks-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task TaskReportsAnswerOnPostgresAsOnSqlite()
    {
        var database = await postgres.NewDatabaseAsync();
        var onPostgres = await RunAsync(new SiloOptions
        {
            Listen = "127.0.0.1:0", Http = "none", DataDir = Path.Combine(_dataDir, "pg"), Storage = "postgres",
            PostgresConnectionString = database, StatisticsInterval = TimeSpan.Zero, DefaultPricesFile = "",
        });
        var onSqlite = await RunAsync(new SiloOptions
        {
            Listen = "127.0.0.1:0", Http = "none", DataDir = Path.Combine(_dataDir, "sqlite"), StatisticsInterval = TimeSpan.Zero, DefaultPricesFile = "",
        });

        Assert.Equal(onSqlite, onPostgres);
        var (outcomes, job) = onPostgres;
        Assert.Equal(
        [
            ("search", "resolved", 1L, 3_000L, 2L, 3L, 1L),
            ("training", "stopped", 1L, 2_700L, 3L, 3L, 0L),
        ], outcomes.Rows.Select(r => (r.Key, r.Outcome, r.Tasks, r.CostNanos, r.Inferences, r.ApiCalls, r.Retries)));
        Assert.Equal((5_700L, 2_850L), (outcomes.Total.CostNanos, outcomes.Total.CostPerTaskNanos));
        Assert.Equal(("stopped", 3L, 3_000L, 2_700L, 1L, -2_300L), (job.Outcome, job.Intervals, job.IntervalEstimateNanos, job.ActualNanos, job.Denials,
            job.EstimateDifferenceNanos));
    }

    /// <summary>A job stopped by its cap and a task with a retry and a failed attempt; the reports, without their times.</summary>
    private static async Task<(CostPerOutcomeReport, Job)> RunAsync(SiloOptions options)
    {
        await using var silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        using var channel = GrpcChannel.ForAddress(silo.Address);
        var (admission, management) = (new Admission.AdmissionClient(channel), new Management.ManagementClient(channel));

        var started = await management.StartJobAsync(new StartJobRequest { Tenant = "acme", Job = "j1", Feature = "training", EstimateNanos = 5_000, CapNanos = 3_500 });
        var job = new Attribution { Tenant = "acme", Feature = "training", Task = "j1" };
        for (var i = 0; ; i++)
        {
            var interval = await admission.ReserveAsync(new ReserveRequest { RequestId = "j1-" + i, Attribution = job, EstimateNanos = 1_000 });
            if (interval.Decision != Decision.Admitted) break;
            await admission.CommitAsync(new CommitRequest { ReservationId = interval.ReservationId, ActualNanos = 900 });
        }
        await management.EndTaskAsync(new EndTaskRequest { Scope = started.Scope, Outcome = "stopped" });

        var task = new Attribution { Tenant = "acme", Feature = "search", Task = "t1" };
        await admission.CommitAsync(new CommitRequest { ReservationId = (await Reserve("t1-a", false)).ReservationId, ActualNanos = 1_000 });
        await admission.ReleaseAsync(new ReleaseRequest { ReservationId = (await Reserve("t1-b", true)).ReservationId });
        await admission.CommitAsync(new CommitRequest { ReservationId = (await Reserve("t1-c", false)).ReservationId, ActualNanos = 2_000 });
        await management.EndTaskAsync(new EndTaskRequest { Scope = "task/acme/t1", Outcome = "resolved" });

        var outcomes = await management.GetCostPerOutcomeAsync(new GetCostPerOutcomeRequest { GroupBy = "feature", Tenant = "acme" });
        var report = (await management.GetJobReportAsync(new GetJobReportRequest { Tenant = "acme" })).Jobs.Single();
        report.StartedAtUnixMs = report.EndedAtUnixMs = 0;
        return (outcomes, report);

        Task<ReserveResponse> Reserve(string id, bool retry) => admission.ReserveAsync(new ReserveRequest
            { RequestId = id, Attribution = task, EstimateNanos = 5_000, Task = new TaskContext { IsRetry = retry } }).ResponseAsync;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
