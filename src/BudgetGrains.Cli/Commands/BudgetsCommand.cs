using System.CommandLine;
using BudgetGrains.Contracts.V1;
using FieldMask = Google.Protobuf.WellKnownTypes.FieldMask;
using Grpc.Core;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl budgets set|get|list|freeze|unfreeze|reset|delete|tree|usage|periods</c>: the control plane.</summary>
internal static class BudgetsCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("budgets", "Create, inspect, list and report on budgets")
    {
        Set(globals, terminal),
        Get(globals, terminal),
        List(globals, terminal),
        OnScope(globals, terminal, "freeze", "Kill switch: deny every reserve whose chain contains the scope (a scope without a budget gets one)",
            (session, scope, call) => session.Management.FreezeBudgetAsync(new FreezeBudgetRequest { Scope = scope }, call)),
        OnScope(globals, terminal, "unfreeze", "Lift the kill switch",
            (session, scope, call) => session.Management.UnfreezeBudgetAsync(new FreezeBudgetRequest { Scope = scope }, call)),
        OnScope(globals, terminal, "reset", "Close the current period now: its totals become history, spent starts from zero, open holds stay",
            (session, scope, call) => session.Management.ResetBudgetAsync(new ResetBudgetRequest { Scope = scope }, call)),
        Delete(globals, terminal),
        BudgetReports.Tree(globals, terminal),
        BudgetReports.Usage(globals, terminal),
        BudgetReports.Periods(globals, terminal),
    };

    /// <summary>A command that changes one scope and prints its status.</summary>
    private static Command OnScope(GlobalOptions globals, Terminal terminal, string name, string description,
        Func<Session, string, CallOptions, AsyncUnaryCall<BudgetStatus>> change)
    {
        var scope = new Argument<string>("scope") { Description = "The scope, e.g. team/search" };
        var command = new Command(name, description) { scope };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            session.Output.Budget(await change(session, parse.GetRequiredValue(scope), session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Delete(GlobalOptions globals, Terminal terminal)
    {
        var scope = new Argument<string>("scope") { Description = "The scope, e.g. team/search" };
        var command = new Command("delete", "Remove a scope's budget (limit, period, thresholds, parent); its spend and history stay") { scope };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new DeleteBudgetRequest { Scope = parse.GetRequiredValue(scope) };
            session.Output.Deleted(request.Scope, await session.Management.DeleteBudgetAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Set(GlobalOptions globals, Terminal terminal)
    {
        var scope = new Argument<string>("scope") { Description = "The scope, kind/key: tenant/acme, team/search, cost_center/cc-1234, budget/project:x" };
        var limit = Options.Amount("--limit", "Hard limit in dollars, e.g. 25.00; 0 = no hard limit");
        var limitNanos = new Option<long>("--limit-nanos") { Description = "Hard limit in nanos (1 USD = 1,000,000,000)", HelpName = "nanos" };
        var parent = new Option<string>("--parent") { Description = "Rollup parent scope, e.g. team/search; none (or \"\") removes it", HelpName = "scope" };
        var thresholds = Options.IntList("--thresholds", "Soft thresholds in percent of the limit [new budget: 50,80,100]", "percents");
        var frozen = new Option<bool>("--frozen") { Description = "Kill switch: deny every reserve through this scope; --frozen false lifts it" };
        var currency = new Option<string>("--currency") { Description = "ISO 4217 code [new budget: USD]", HelpName = "code" };
        var period = new Option<Period>("--period") { Description = "Accounting period; counters reset at UTC calendar boundaries [new budget: none]" };
        var rpm = new Option<long>("--rpm") { Description = "Reserves per minute through this scope (rate limit); 0 = none [new budget: none]", HelpName = "n" };
        var tpm = new Option<long>("--tpm") { Description = "Estimated tokens per minute through this scope (rate limit); 0 = none [new budget: none]", HelpName = "n" };
        period.AcceptOnlyFromAmong("none", "hour", "day", "week", "month");
        // "none" alone removes every meter limit, as --parent none removes the parent.
        var meterLimits = new Option<List<MeterLimit>>("--meter-limit")
        {
            Description = "Cap on a meter's quantity per period, NAME=QUANTITY, e.g. --meter-limit gpu_seconds=144000 (repeatable; " +
                "replaces the scope's meter limits; none removes them)",
            HelpName = "name=quantity",
            Arity = ArgumentArity.OneOrMore,
            CustomParser = result => result.Tokens is [{ Value: var only }] && only.Equals("none", StringComparison.OrdinalIgnoreCase) ? []
                : [.. MeterOptions.Pairs(result, "--meter-limit", "1 or more", "gpu_seconds=144000").Select(p => new MeterLimit { Meter = p.Name, MaxQuantity = p.Quantity })],
        };

        var command = new Command("set", "Create a scope's budget or change it: only the options given change, the rest stays as it is " +
            "(a new budget takes the defaults); spend already counted is kept; prints its status")
        {
            scope, limit, limitNanos, parent, thresholds, frozen, currency, period, rpm, tpm, meterLimits,
        };
        command.Validators.Add(result =>
        {
            if (result.GetResult(limit) is not null && result.GetResult(limitNanos) is not null)
            {
                result.AddError("give --limit or --limit-nanos, not both");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Only the options given go into the request, each named in the update mask: an option left out never
            // clears the parent, the period or the kill switch (docs/decisions/0021).
            var request = new UpsertBudgetRequest { Scope = parse.GetRequiredValue(scope), UpdateMask = new FieldMask() };
            void Named(string field) => request.UpdateMask.Paths.Add(field);
            if (Given(parse, limitNanos))
            {
                request.LimitNanos = parse.GetValue(limitNanos);
                Named("limit_nanos");
            }
            else if (Given(parse, limit))
            {
                request.LimitNanos = parse.GetValue(limit);
                Named("limit_nanos");
            }
            if (Given(parse, parent))
            {
                var value = parse.GetValue(parent) ?? "";
                request.Parent = value.Equals("none", StringComparison.OrdinalIgnoreCase) ? "" : value;
                Named("parent");
            }
            if (Given(parse, thresholds))
            {
                request.ThresholdPercents.AddRange(parse.GetValue(thresholds) ?? []);
                Named("threshold_percents");
            }
            if (Given(parse, frozen))
            {
                request.Frozen = parse.GetValue(frozen);
                Named("frozen");
            }
            if (Given(parse, currency))
            {
                request.Currency = parse.GetValue(currency) ?? "";
                Named("currency");
            }
            if (Given(parse, period))
            {
                request.Period = parse.GetValue(period);
                Named("period");
            }
            if (Given(parse, rpm))
            {
                request.RequestsPerMinute = parse.GetValue(rpm);
                Named("requests_per_minute");
            }
            if (Given(parse, tpm))
            {
                request.TokensPerMinute = parse.GetValue(tpm);
                Named("tokens_per_minute");
            }
            if (Given(parse, meterLimits))
            {
                request.MeterLimits.AddRange(parse.GetValue(meterLimits) ?? []);
                Named("meter_limits");
            }
            using var session = globals.Open(parse, terminal);
            session.Output.Budget(await session.Management.UpsertBudgetAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    /// <summary>Whether the option was on the command line (a bool option has an implicit result when it was not).</summary>
    private static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    private static Command Get(GlobalOptions globals, Terminal terminal)
    {
        var scope = new Argument<string>("scope") { Description = "The scope, e.g. team/search" };
        var command = new Command("get", "Show a scope's budget and live counters") { scope };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new GetBudgetRequest { Scope = parse.GetRequiredValue(scope) };
            session.Output.Budget(await session.Management.GetBudgetAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command List(GlobalOptions globals, Terminal terminal)
    {
        var prefix = new Option<string>("--prefix") { Description = "Only scopes starting with this, e.g. team/", HelpName = "scope-prefix" };
        var pageSize = new Option<int>("--page-size") { Description = "Budgets per request, at most 1000 [default: the server's, 100]", HelpName = "n" };
        var command = new Command("list", "List budgets in scope order, all pages; used = (spent + held) / limit") { prefix, pageSize };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var budgets = new List<BudgetStatus>();
            var row = session.Output.BudgetRows(budgets);
            await foreach (var status in AllBudgets(session, parse.GetValue(prefix) ?? "", parse.GetValue(pageSize), cancellationToken)) row(status);

            session.Output.BudgetTable(budgets);
            return Cli.Ok;
        });
        return command;
    }

    /// <summary>Every budget under a prefix, following the pages.</summary>
    public static async IAsyncEnumerable<BudgetStatus> AllBudgets(Session session, string prefix, int pageSize,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListBudgetsRequest { ScopePrefix = prefix, PageSize = pageSize };
        do
        {
            var page = await session.Management.ListBudgetsAsync(request, session.Call(cancellationToken));
            foreach (var status in page.Budgets) yield return status;
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
    }
}
