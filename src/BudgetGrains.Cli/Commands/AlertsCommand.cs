using System.CommandLine;
using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl alerts list|ack|watch</c>: threshold, velocity and forecast alerts.</summary>
internal static class AlertsCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("alerts", "List, acknowledge and watch alerts")
    {
        List(globals, terminal),
        Ack(globals, terminal),
        Watch(globals, terminal),
    };

    private static Option<string> ScopePrefix() =>
        new("--scope") { Description = "Only alerts of scopes starting with this, e.g. team/ or team/search", HelpName = "scope-prefix" };

    private static Command List(GlobalOptions globals, Terminal terminal)
    {
        var scope = ScopePrefix();
        var unacked = new Option<bool>("--unacked") { Description = "Only alerts not yet acknowledged" };
        var max = new Option<int>("--max") { Description = "At most this many, newest first; 0 = all", HelpName = "n", DefaultValueFactory = _ => 100 };
        max.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0) result.AddError("--max must be 0 (all) or more");
        });
        var command = new Command("list", "Alerts, newest first, with who acknowledged them and how each sink took them") { scope, unacked, max };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var limit = parse.GetValue(max);
            var request = new ListAlertsRequest { ScopePrefix = parse.GetValue(scope) ?? "", UnacknowledgedOnly = parse.GetValue(unacked) };
            var alerts = new List<Alert>();
            do
            {
                if (limit > 0) request.PageSize = Math.Min(limit - alerts.Count, 1000);
                var page = await session.Management.ListAlertsAsync(request, session.Call(cancellationToken));
                alerts.AddRange(page.Alerts);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0 && (limit == 0 || alerts.Count < limit));

            session.Output.AlertTable(alerts, more: request.PageToken.Length > 0);
            return Cli.Ok;
        });
        return command;
    }

    private static Command Ack(GlobalOptions globals, Terminal terminal)
    {
        var id = new Argument<string>("id") { Description = "The alert's id, as `alerts list` shows it" };
        var by = new Option<string>("--by") { Description = "Who acknowledges it [default: the user name]", HelpName = "who" };
        var command = new Command("ack", "Acknowledge an alert (again: no change, the first acknowledgement stays)") { id, by };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new AckAlertRequest { Id = parse.GetRequiredValue(id), By = parse.GetValue(by) ?? Environment.UserName };
            session.Output.Alert(await session.Management.AckAlertAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Watch(GlobalOptions globals, Terminal terminal)
    {
        var scope = ScopePrefix();
        var after = new Option<string>("--after")
        {
            Description = "First replay the alerts after this id (0 = every alert) [default: only alerts fired from now on]",
            HelpName = "id",
        };
        var count = new Option<int>("--count") { Description = "Stop after this many alerts [default: run until Ctrl+C]", HelpName = "n" };
        var command = new Command("watch", "Print alerts as they fire, one line each (with --json, one object per line)") { scope, after, count };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new WatchAlertsRequest { ScopePrefix = parse.GetValue(scope) ?? "", AfterId = parse.GetValue(after) ?? "" };
            var (stopAfter, seen) = (parse.GetValue(count), 0);
            try
            {
                // No deadline: a watch runs until it is stopped.
                using var call = session.Alerts.WatchAlerts(request, new CallOptions(cancellationToken: cancellationToken));
                await foreach (var alert in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    session.Output.AlertLine(alert);
                    if (++seen == stopAfter) break;
                }
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                // Ctrl+C: a normal way to stop watching.
            }
            return Cli.Ok;
        });
        return command;
    }
}
