using System.Globalization;
using BudgetGrains.Contracts.V1;
using Spectre.Console;
using Money = BudgetGrains.Client.Money;

namespace BudgetGrains.Cli;

/// <summary>Reports: the budget tree, usage tables and period history.</summary>
internal sealed partial class Output
{
    public void Deleted(string scope, DeleteBudgetResponse response)
    {
        if (Json(response)) return;
        Console.MarkupLine(response.Deleted ? "[green]DELETED[/]" : "[yellow]NOTHING TO DELETE: the scope had no budget[/]");
        Line("scope", scope);
    }

    /// <summary>Each hierarchy as a tree from its root (a budget whose parent has none), children in scope order.</summary>
    public void BudgetTree(IReadOnlyList<BudgetStatus> budgets, string? root)
    {
        if (json)
        {
            foreach (var budget in budgets) Json(budget);
            return;
        }
        var byScope = budgets.ToDictionary(b => b.Scope);
        var children = budgets.Where(b => b.Parent.Length > 0).ToLookup(b => b.Parent);
        var roots = root is not null ? [byScope[root]] : budgets.Where(b => !byScope.ContainsKey(b.Parent)).OrderBy(b => b.Scope, StringComparer.Ordinal).ToList();
        if (roots.Count == 0)
        {
            Console.MarkupLine("[grey]no budgets[/]");
            return;
        }
        var tree = new Tree("[bold]budgets[/]");
        foreach (var top in roots) AddNode(tree.AddNode(TreeLabel(top)), top.Scope);
        Console.Write(tree);

        void AddNode(TreeNode node, string scope)
        {
            foreach (var child in children[scope].OrderBy(c => c.Scope, StringComparer.Ordinal))
                AddNode(node.AddNode(TreeLabel(child)), child.Scope);
        }
    }

    private static string TreeLabel(BudgetStatus s)
    {
        var money = s.LimitNanos > 0
            ? $"{Money.Format(s.SpentNanos + s.HeldNanos, s.Currency)} of {Money.Format(s.LimitNanos, s.Currency)}"
            : $"{Money.Format(s.SpentNanos + s.HeldNanos, s.Currency)}, no limit";
        var period = s.Period is Period.Unspecified or Period.None ? "" : $" [grey]{s.Period.ToString().ToLowerInvariant()}[/]";
        return $"{Markup.Escape(s.Scope)}  {UsedBar(s)}  {Markup.Escape(money)}{period}{(s.Frozen ? "  [red]frozen[/]" : "")}";
    }

    public void Usage(UsageReport report)
    {
        if (Json(report)) return;
        var currency = report.Currency;
        Line("scope", report.Scope);
        Line("period", report.PeriodEndUnixMs == 0
            ? $"{PeriodName(report.Period)}, current (since {Since(report.PeriodStartUnixMs)})"
            : $"{PeriodName(report.Period)}, {Since(report.PeriodStartUnixMs)} to {Timestamp(report.PeriodEndUnixMs)}");
        Line("spent", $"{Money.Format(report.Total.SpentNanos, currency)} in {Plural(report.Total.Commits, "commit")}");
        if (report.Rows.Count == 0)
        {
            Console.MarkupLine("[grey]no usage in this period[/]");
            return;
        }
        var table = new Table().AddColumns(report.GroupBy, "spent", "share", "commits", "input tokens", "output tokens");
        foreach (var column in table.Columns.Skip(1)) column.RightAligned();
        foreach (var row in report.Rows)
        {
            var share = report.Total.SpentNanos == 0 ? 0 : (decimal)row.SpentNanos / report.Total.SpentNanos;
            table.AddRow(
                Markup.Escape(row.Key.Length == 0 ? "(none)" : row.Key),
                Markup.Escape(Money.Format(row.SpentNanos, currency)),
                (share * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%",
                row.Commits.ToString("N0", CultureInfo.InvariantCulture),
                row.InputTokens.ToString("N0", CultureInfo.InvariantCulture),
                row.OutputTokens.ToString("N0", CultureInfo.InvariantCulture));
        }
        Console.Write(table);
        if (report.GroupBy == "child")
            Console.MarkupLine("[grey]a call through several children of the scope (a feature and an agent) counts under each[/]");
    }

    public void Periods(string scope, IReadOnlyList<PeriodSummary> periods)
    {
        if (json)
        {
            foreach (var period in periods) Json(period);
            return;
        }
        if (periods.Count == 0)
        {
            Console.MarkupLine($"[grey]{Markup.Escape(scope)} has no closed periods yet[/]");
            return;
        }
        var table = new Table().AddColumns("from", "to", "period", "spent", "limit", "commits", "denials", "closed by");
        foreach (var column in table.Columns.Skip(3).Take(4)) column.RightAligned();
        foreach (var p in periods)
            table.AddRow(
                Markup.Escape(Since(p.StartUnixMs)),
                Markup.Escape(Timestamp(p.EndUnixMs)),
                PeriodName(p.Period),
                Markup.Escape(Money.Format(p.SpentNanos, p.Currency)),
                Markup.Escape(p.LimitNanos == 0 ? "no limit" : Money.Format(p.LimitNanos, p.Currency)),
                p.Commits.ToString("N0", CultureInfo.InvariantCulture),
                p.Denials.ToString("N0", CultureInfo.InvariantCulture),
                p.Reset ? "[yellow]reset[/]" : "calendar");
        Console.Write(table);
    }

    private static string PeriodName(Period period) => period is Period.Unspecified ? "none" : period.ToString().ToLowerInvariant();

    /// <summary>A period start; 0 is a scope's first period, which began with its first spend.</summary>
    private static string Since(long unixMs) => unixMs == 0 ? "the beginning" : Timestamp(unixMs);
}
