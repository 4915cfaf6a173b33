using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>The dashboard's cost-per-outcome and jobs views in a real browser show what GetCostPerOutcome and
/// GetJobReport report for real tasks and a job stopped by its cap.</summary>
public sealed class DashboardTaskViewsTests
{
    [SkippableTheory]
    [InlineData("chromium")]
    [InlineData("firefox")]
    public async Task CostPerOutcomeAndJobsShowWhatTheApiReports(string browser)
    {
        await using var page = await Browser.OpenAsync(browser);
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("dashboard-tasks"));
        var (admission, management) = (silo.Admission, silo.Management);

        await management.StartJobAsync(new StartJobRequest { Tenant = "acme", Job = "finetune", Feature = "training", EstimateNanos = 4_000_000_000, CapNanos = 2_500_000_000 });
        var job = new Attribution { Tenant = "acme", Feature = "training", Task = "finetune" };
        while ((await admission.ReserveAsync(Build.Reserve(job, 1_000_000_000))) is { Decision: Decision.Admitted } interval)
            await admission.CommitAsync(new CommitRequest { ReservationId = interval.ReservationId, ActualNanos = 900_000_000 });
        await management.EndTaskAsync(new EndTaskRequest { Scope = "task/acme/finetune", Outcome = "stopped" });
        var chat = new Attribution { Tenant = "acme", Feature = "support", Task = "conversation-1" };
        foreach (var cost in new[] { 20_000_000L, 30_000_001L })
        {
            var call = await admission.ReserveAsync(Build.Reserve(chat, 100_000_000));
            await admission.CommitAsync(new CommitRequest { ReservationId = call.ReservationId, ActualNanos = cost });
        }
        await management.EndTaskAsync(new EndTaskRequest { Scope = "task/acme/conversation-1", Outcome = "resolved" });

        await page.GotoAsync(silo.Silo.HttpAddress!.ToString());

        var outcomes = await management.GetCostPerOutcomeAsync(new GetCostPerOutcomeRequest { GroupBy = "feature" });
        Assert.Equal(2, outcomes.Rows.Count);
        foreach (var r in outcomes.Rows)
        {
            var row = $"#outcome-cost-table tr[data-key='{r.Key}|{r.Outcome}']";
            await page.ExpectAttributeAsync($"{row} [data-field=cost]", "data-nanos", r.CostNanos.ToString());
            await page.ExpectAttributeAsync($"{row} [data-field=per-inference]", "data-nanos", r.CostPerInferenceNanos.ToString());
        }
        await page.ExpectAttributeAsync("#outcome-cost-table tr[data-key='support|resolved'] [data-field=per-task]", "data-nanos", "50000001");

        await page.EvaluateAsync<bool>("(() => { const s = document.getElementById('outcomes-by'); s.value = 'tenant'; s.dispatchEvent(new Event('change')); return true; })()");
        await page.ExpectAttributeAsync("#outcome-cost-table tr[data-key='acme|stopped'] [data-field=cost]", "data-nanos", "1800000000");

        var report = Assert.Single((await management.GetJobReportAsync(new GetJobReportRequest())).Jobs);
        var jobRow = "#job-table tr[data-key='task/acme/finetune']";
        await page.ExpectAttributeAsync($"{jobRow} [data-field=actual]", "data-nanos", report.ActualNanos.ToString());
        await page.ExpectAttributeAsync($"{jobRow} [data-field=interval-estimates]", "data-nanos", "2000000000");
        await page.ExpectTextAsync($"{jobRow} [data-field=outcome]", "stopped");
        await page.ExpectTextAsync($"{jobRow} [data-field=vs-estimate]", "-55.00%");
        await page.ScreenshotAsync(Path.Combine(Browser.Artifacts, $"dashboard-tasks-{browser}.png"), fullPage: true);
        Assert.Empty(page.Errors);
    }
}
