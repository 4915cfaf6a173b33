using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl tasks policy set|get</c>, <c>tasks end</c> and <c>tasks outcomes</c>: guardrails for agent tasks, and
/// what their outcomes cost.</summary>
internal static class TasksCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("tasks", "Guardrails for agent tasks: depth, retries, calls, spend, hold TTL")
    {
        new Command("policy", "The guardrails of a feature or agent (inherited by its tasks) or of one task")
        {
            SetPolicy(globals, terminal),
            GetPolicy(globals, terminal),
        },
        End(globals, terminal),
        Outcomes(globals, terminal),
    };

    private static Command SetPolicy(GlobalOptions globals, Terminal terminal)
    {
        var scope = new Argument<string>("scope") { Description = "feature/x or agent/x (their tasks inherit; the stricter wins), or task/tenant/run (overrides)" };
        var maxDepth = Limit("--max-depth", "Deepest call allowed in a task");
        var maxRetries = Limit("--max-retries", "Retries allowed per task (0 = none)");
        var maxCalls = Limit("--max-calls", "Calls admitted per task, retries included");
        var maxSpend = Options.Amount("--max-spend", "Spend per task in dollars, e.g. 2.50");
        var holdTtl = Options.Duration("--hold-ttl",
            "Lifetime of a hold when a reserve gives none, and the longest one may ask for (1s to 1h); applies to every reserve through a feature or agent, with or without a task");
        var command = new Command("set", "Replace the scope's guardrails; limits not given are not set")
        {
            scope, maxDepth, maxRetries, maxCalls, maxSpend, holdTtl,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var policy = new TaskPolicy
            {
                MaxDepth = ToLimit(parse.GetResult(maxDepth) is null ? null : parse.GetValue(maxDepth)),
                MaxRetries = ToLimit(parse.GetResult(maxRetries) is null ? null : parse.GetValue(maxRetries)),
                MaxCalls = ToLimit(parse.GetResult(maxCalls) is null ? null : parse.GetValue(maxCalls)),
                MaxSpendNanos = ToLimit(parse.GetResult(maxSpend) is null ? null : parse.GetValue(maxSpend)),
                HoldTtlMs = ToLimit(parse.GetResult(holdTtl) is null ? null : parse.GetValue(holdTtl)),
            };
            using var session = globals.Open(parse, terminal);
            var request = new SetTaskPolicyRequest { Scope = parse.GetRequiredValue(scope), Policy = policy };
            session.Output.Policy(await session.Management.SetTaskPolicyAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command GetPolicy(GlobalOptions globals, Terminal terminal)
    {
        var scope = new Argument<string>("scope") { Description = "feature/x, agent/x or task/tenant/run" };
        var command = new Command("get", "Show the guardrails set on a scope") { scope };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new GetTaskPolicyRequest { Scope = parse.GetRequiredValue(scope) };
            session.Output.Policy(await session.Management.GetTaskPolicyAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command End(GlobalOptions globals, Terminal terminal)
    {
        var scope = new Argument<string>("task") { Description = "The task scope, task/<tenant>/<task>" };
        var outcome = new Option<string>("--outcome")
        {
            Description = "What the task came to, for cost per outcome: resolved, unresolved, failed, abandoned, completed, stopped, or your own " +
                "word (a-z 0-9 . _ : -) [default: ended]",
            HelpName = "word",
        };
        var command = new Command("end", "End an agent task: release its open holds, deny every later call, record its outcome") { scope, outcome };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var task = parse.GetRequiredValue(scope);
            var request = new EndTaskRequest { Scope = task, Outcome = parse.GetValue(outcome) ?? "" };
            session.Output.TaskEnded(task, await session.Management.EndTaskAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Outcomes(GlobalOptions globals, Terminal terminal)
    {
        var by = Options.OneOf("--by", "Group by feature or tenant [default: feature]", required: false, "feature", "tenant");
        var (from, to) = TimeRange("tasks started");
        var tenant = new Option<string>("--tenant") { Description = "Only this tenant's tasks", HelpName = "tenant" };
        var kind = Options.OneOf("--kind", "Only agent tasks (task) or jobs (job) [default: both]", required: false, "task", "job");
        var command = new Command("outcomes", "Cost per outcome: tasks, their whole cost (every call, retry and failed attempt) and cost per task, " +
            "with cost per inference, per API call and per 1M tokens") { by, from, to, tenant, kind };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new GetCostPerOutcomeRequest
            {
                GroupBy = parse.GetValue(by) ?? "feature", FromUnixMs = From(parse, from), ToUnixMs = parse.GetValue(to),
                Tenant = parse.GetValue(tenant) ?? "", Kind = parse.GetValue(kind) ?? "",
            };
            session.Output.CostPerOutcome(await session.Management.GetCostPerOutcomeAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    /// <summary>--from and --to of the task reports: tasks started in the range.</summary>
    internal static (Option<long> From, Option<long> To) TimeRange(string what) =>
        (Options.Instant("--from", $"Only {what} at or after this UTC time [default: 30 days ago]"),
         Options.Instant("--to", $"Only {what} before this UTC time [default: no bound]"));

    internal static long From(System.CommandLine.ParseResult parse, Option<long> from) =>
        parse.GetResult(from) is null ? DateTimeOffset.UtcNow.AddDays(-30).ToUnixTimeMilliseconds() : parse.GetValue(from);

    private static Option<long> Limit(string name, string description) => new(name) { Description = description, HelpName = "n" };

    private static Limit? ToLimit(long? value) => value is { } v ? new Limit { Value = v } : null;
}
