using BudgetGrains.Cli.Commands;
using BudgetGrains.Contracts.V1;
using Spectre.Console;
using Money = BudgetGrains.Client.Money;

namespace BudgetGrains.Cli;

/// <summary>What `allocation import` and `allocation report` print.</summary>
internal sealed partial class Output
{
    public void SharedCostsImported(string file, ImportSharedCostsResponse r)
    {
        if (Json(r)) return;
        Console.MarkupLine($"[green]IMPORTED[/] {Plural(r.Costs.Count, "shared cost")} from {Markup.Escape(file)}" +
            (r.Replaced > 0 ? $" ({r.Replaced} replaced an earlier import of the same pool and period)" : ""));
        var table = new Table().AddColumns("pool", "period", "amount", "driver", "over", "figure");
        table.Columns[2].RightAligned();
        foreach (var c in r.Costs)
            table.AddRow(Markup.Escape(c.Pool), CostPeriod(c), Money.Format(c.AmountNanos, c.Currency), Markup.Escape(c.Driver), Markup.Escape(c.Dimension),
                c.Estimated ? "estimated" : "allocated");
        Console.Write(table);
    }

    public void Allocation(AllocationReport report)
    {
        if (Json(report)) return;
        Console.MarkupLine($"[grey]{Markup.Escape(report.Dimension)}s from {SharedCostFile.Day(report.FromUnixMs)} to {Markup.Escape(Timestamp(report.ToUnixMs))}, " +
            $"{Markup.Escape(report.Currency)}[/]");
        if (report.Rows.Count == 0)
        {
            Console.MarkupLine("[grey]no commits and no shared costs in these days[/]");
            return;
        }
        var currency = report.Currency;
        var rows = new Table().AddColumns(report.Dimension, "measured", "allocated", "estimated", "unallocated", "total");
        foreach (var column in rows.Columns.Skip(1)) column.RightAligned();
        foreach (var r in report.Rows)
            rows.AddRow(r.Scope == "unallocated" ? "[yellow]unallocated[/]" : Markup.Escape(r.Scope), Money.Format(r.MeasuredNanos, currency),
                Money.Format(r.AllocatedNanos, currency), Money.Format(r.EstimatedNanos, currency), Money.Format(r.UnallocatedNanos, currency),
                Money.Format(r.TotalNanos, currency));
        rows.AddRow("[bold]total[/]", Money.Format(report.MeasuredNanos, currency), Money.Format(report.AllocatedNanos, currency),
            Money.Format(report.EstimatedNanos, currency), Money.Format(report.UnallocatedNanos, currency), $"[bold]{Money.Format(report.TotalNanos, currency)}[/]");
        Console.Write(rows);
        if (report.Pools.Count == 0) return;
        var pools = new Table().AddColumns("pool", "period", "amount", "driver", "allocated", "unallocated", "why unallocated");
        foreach (var column in new[] { 2, 4, 5 }) pools.Columns[column].RightAligned();
        foreach (var p in report.Pools)
            pools.AddRow(Markup.Escape(p.Cost.Pool) + (p.Cost.Estimated ? " [grey](estimate)[/]" : ""), CostPeriod(p.Cost), Money.Format(p.Cost.AmountNanos, currency),
                Markup.Escape(p.Cost.Driver), Money.Format(p.AllocatedNanos, currency), Money.Format(p.UnallocatedNanos, currency),
                p.UnallocatedReason.Length == 0 ? "-" : Markup.Escape(p.UnallocatedReason));
        Console.Write(pools);
    }

    private static string CostPeriod(SharedCost c) => $"{SharedCostFile.Day(c.PeriodStartUnixMs)} to {SharedCostFile.Day(c.PeriodEndUnixMs)}";
}
