using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl budgets tree|usage|periods</c>: where the money went.</summary>
internal static class BudgetReports
{
    /// <summary>The groupings the server counts usage under (GetUsageRequest.group_by).</summary>
    private static readonly string[] Groupings = ["child", "model", "outcome", "provider", "environment", "prompt_version"];

    public static Command Tree(GlobalOptions globals, Terminal terminal)
    {
        var root = new Argument<string>("root")
        {
            Description = "Show only this scope and what rolls up into it, e.g. cost_center/cc-1234 [default: every hierarchy]",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("tree", "The budget hierarchy through parent links, with spent / limit bars") { root };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var budgets = new List<BudgetStatus>();
            await foreach (var status in BudgetsCommand.AllBudgets(session, "", 0, cancellationToken)) budgets.Add(status);
            var only = parse.GetValue(root);
            if (only is not null && budgets.All(b => b.Scope != only))
                budgets.Add(await session.Management.GetBudgetAsync(new GetBudgetRequest { Scope = only }, session.Call(cancellationToken)));
            session.Output.BudgetTree(budgets, only);
            return Cli.Ok;
        });
        return command;
    }

    public static Command Usage(GlobalOptions globals, Terminal terminal)
    {
        var scope = new Argument<string>("scope") { Description = "The scope, e.g. team/search" };
        var by = new Option<string>("--by") { Description = "Group by child (scopes rolling up here), model, outcome, provider, environment or prompt_version [default: child]", HelpName = "grouping", DefaultValueFactory = _ => "child" };
        by.AcceptOnlyFromAmong(Groupings);
        var periodStart = new Option<long>("--period-start") { Description = "A closed period, by its start in unix ms as `budgets periods --json` shows it [default: the current period]", HelpName = "unix-ms" };
        var command = new Command("usage", "Spend of a scope in a period, grouped (e.g. which features spent team/search's money this month)") { scope, by, periodStart };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new GetUsageRequest { Scope = parse.GetRequiredValue(scope), GroupBy = parse.GetRequiredValue(by) };
            if (parse.GetResult(periodStart) is not null) (request.Closed, request.PeriodStartUnixMs) = (true, parse.GetValue(periodStart));
            UsageReport? report = null;
            do
            {
                var page = await session.Management.GetUsageAsync(request, session.Call(cancellationToken));
                if (report is null) report = page;
                else report.Rows.AddRange(page.Rows);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            report.NextPageToken = "";
            session.Output.Usage(report);
            return Cli.Ok;
        });
        return command;
    }

    public static Command Periods(GlobalOptions globals, Terminal terminal)
    {
        var scope = new Argument<string>("scope") { Description = "The scope, e.g. team/search" };
        var command = new Command("periods", "A scope's closed periods (history), newest first") { scope };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new ListPeriodsRequest { Scope = parse.GetRequiredValue(scope) };
            var periods = new List<PeriodSummary>();
            do
            {
                var page = await session.Management.ListPeriodsAsync(request, session.Call(cancellationToken));
                periods.AddRange(page.Periods);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            session.Output.Periods(request.Scope, periods);
            return Cli.Ok;
        });
        return command;
    }
}
