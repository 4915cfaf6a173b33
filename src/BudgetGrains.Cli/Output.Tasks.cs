using System.Globalization;
using BudgetGrains.Contracts.V1;
using Spectre.Console;
using Money = BudgetGrains.Client.Money;

namespace BudgetGrains.Cli;

/// <summary>What `tasks outcomes`, `jobs start` and `jobs report` print.</summary>
internal sealed partial class Output
{
    public void CostPerOutcome(CostPerOutcomeReport report)
    {
        if (Json(report)) return;
        if (report.Rows.Count == 0)
        {
            Console.MarkupLine("[grey]no tasks started in this range[/]");
            return;
        }
        var table = new Table().AddColumns(report.GroupBy, "outcome", "tasks", "cost", "per task", "inferences", "per inference", "API calls",
            "per API call", "retries", "per 1M tokens");
        foreach (var column in table.Columns.Skip(2)) column.RightAligned();
        foreach (var r in report.Rows)
            table.AddRow(Markup.Escape(r.Key.Length == 0 ? "(none)" : r.Key), r.Outcome == "open" ? "[yellow]open[/]" : Markup.Escape(r.Outcome),
                Count(r.Tasks), Money.Format(r.CostNanos), Money.Format(r.CostPerTaskNanos), Count(r.Inferences), Money.Format(r.CostPerInferenceNanos),
                Count(r.ApiCalls), Money.Format(r.CostPerApiCallNanos), Count(r.Retries), r.Tokens == 0 ? "-" : Money.Format(r.CostPerMillionTokensNanos));
        Console.Write(table);
        Console.MarkupLine($"[grey]{Plural(report.Total.Tasks, "task")}, {Money.Format(report.Total.CostNanos)}, " +
            $"{Money.Format(report.Total.CostPerTaskNanos)} per task; a task's cost is every call, retry and failed attempt; open = not ended yet" +
            (report.Truncated ? "; [yellow]more rows than one report holds: narrow the range or name a tenant[/]" : "") + "[/]");
    }

    public void JobStarted(Job job)
    {
        if (Json(job)) return;
        Console.MarkupLine("[green]STARTED[/]");
        Line("job", job.Scope);
        Line("estimate", Money.Format(job.EstimateNanos));
        Line("cap", job.CapNanos == 0 ? "its budget as it is" : Money.Format(job.CapNanos));
        Line("reserve as", $"--tenant {job.Tenant} --task {job.Job_}" + (job.Feature.Length > 0 ? $" --feature {job.Feature}" : ""));
    }

    /// <summary>One job as the report pages arrive: printed at once with --json, else collected for <see cref="Jobs"/>.</summary>
    public void JobRow(Job job, List<Job> collected)
    {
        if (!Json(job)) collected.Add(job);
    }

    public void Jobs(List<Job> jobs)
    {
        if (json) return;
        if (jobs.Count == 0)
        {
            Console.MarkupLine("[grey]no jobs started in this range[/]");
            return;
        }
        var table = new Table().AddColumns("job", "feature", "outcome", "estimate", "intervals", "interval estimates", "actual", "held", "cap",
            "vs estimate");
        foreach (var column in table.Columns.Skip(3)) column.RightAligned();
        foreach (var j in jobs)
            table.AddRow(Markup.Escape(j.Scope), Markup.Escape(j.Feature), j.Outcome == "open" ? "[yellow]running[/]" : Markup.Escape(j.Outcome),
                Money.Format(j.EstimateNanos), Count(j.Intervals), Money.Format(j.IntervalEstimateNanos), Money.Format(j.ActualNanos),
                Money.Format(j.HeldNanos), j.CapNanos == 0 ? "-" : Money.Format(j.CapNanos),
                j.EstimateNanos == 0 ? "-" : (j.EstimateErrorBasisPoints / 100m).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + "%");
        Console.Write(table);
        Console.MarkupLine($"[grey]{Plural(jobs.Count, "job")}; vs estimate = (actual - estimate) / estimate[/]");
    }

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
