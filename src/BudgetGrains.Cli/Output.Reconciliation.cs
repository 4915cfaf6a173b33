using System.Globalization;
using BudgetGrains.Cli.Commands;
using BudgetGrains.Contracts.V1;
using Spectre.Console;
using Money = BudgetGrains.Client.Money;

namespace BudgetGrains.Cli;

/// <summary>What `reconcile import` and `reconcile report` print.</summary>
internal sealed partial class Output
{
    public void BillImported(string file, ImportBillResponse r)
    {
        if (Json(r)) return;
        Console.MarkupLine($"[green]{(r.Replaced ? "REPLACED" : "IMPORTED")}[/] {Markup.Escape(r.ImportId)} from {Markup.Escape(file)}");
        Line("lines", Plural(r.Lines, "cost line") + (r.SkippedRows > 0 ? $" ({Plural(r.SkippedRows, "row")} not usage, left out)" : ""));
        Line("billed", Money.Format(r.BilledNanos, r.Currency));
        Line("days", $"{Day(r.FromUnixMs)} to {Day(r.ToUnixMs - 1)}");
        if (r.AlertsRaised > 0) MarkupLine("drift", $"[red]{Plural(r.AlertsRaised, "provider, model and day")} past the bound: DRIFT alerts raised[/]");
        else Line("drift", "every provider, model and day within the bound");
    }

    public void Reconciliation(ReconciliationReport report)
    {
        if (Json(report)) return;
        if (report.Rows.Count == 0)
        {
            Console.MarkupLine("[grey]no bills and no commits in these days[/]");
            return;
        }
        var table = new Table().AddColumns("day", "provider", "model", "billed", "counted", "difference", "drift", "status");
        foreach (var column in table.Columns.Skip(3).Take(4)) column.RightAligned();
        foreach (var r in report.Rows)
        {
            var status = r.Status == "matched" ? "matched" : $"[red]{Markup.Escape(r.Status)}[/]";
            table.AddRow(Day(r.DayUnixMs), Markup.Escape(r.Provider), Markup.Escape(r.Model), Money.Format(r.BilledNanos), Money.Format(r.CountedNanos),
                Money.Format(r.DifferenceNanos), r.CountedNanos == 0 ? "-" : (r.DriftBasisPoints / 100m).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + "%",
                status);
        }
        Console.Write(table);
        Console.MarkupLine($"[grey]billed {Money.Format(report.BilledNanos)}, counted {Money.Format(report.CountedNanos)}; drift bound {report.DriftBoundPercent}%[/]");
        foreach (var c in report.Corrections)
            Console.MarkupLine(Markup.Escape($"suggested price for {c.Model} ({c.Provider}): input {PricesCommand.PerMillionText(c.Current.InputNanosPerToken)} -> " +
                $"{PricesCommand.PerMillionText(c.Suggested.InputNanosPerToken)}, output {PricesCommand.PerMillionText(c.Current.OutputNanosPerToken)} -> " +
                $"{PricesCommand.PerMillionText(c.Suggested.OutputNanosPerToken)} per 1M tokens"));
    }

    private static string Day(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
