using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl tenants get|set</c>: a tenant's own settings (what its chains without any budget get).</summary>
internal static class TenantsCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("tenants", "A tenant's own settings")
    {
        Get(globals, terminal),
        Set(globals, terminal),
    };

    private static Command Get(GlobalOptions globals, Terminal terminal)
    {
        var tenant = new Argument<string>("tenant") { Description = "The tenant key, e.g. acme" };
        var command = new Command("get", "Show a tenant's settings and the deployment's that it overrides") { tenant };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new GetTenantSettingsRequest { Tenant = parse.GetRequiredValue(tenant) };
            session.Output.Tenant(await session.Management.GetTenantSettingsAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Set(GlobalOptions globals, Terminal terminal)
    {
        var tenant = new Argument<string>("tenant") { Description = "The tenant key, e.g. acme" };
        var unknownScopes = new Option<string>("--unknown-scopes")
        {
            Description = "A chain of the tenant with no budget on any scope: closed = denied NO_BUDGET, open = admitted, " +
                "deployment = the server's setting (BudgetGrains:UnknownScopes)",
            HelpName = "closed|open|deployment",
            Required = true,
        };
        unknownScopes.AcceptOnlyFromAmong("closed", "open", "deployment");
        var command = new Command("set", "Set a tenant's own settings") { tenant, unknownScopes };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new SetTenantSettingsRequest
            {
                Tenant = parse.GetRequiredValue(tenant),
                UnknownScopes = parse.GetRequiredValue(unknownScopes) switch
                {
                    "closed" => UnknownScopes.Closed,
                    "open" => UnknownScopes.Open,
                    _ => UnknownScopes.Unspecified,
                },
            };
            session.Output.Tenant(await session.Management.SetTenantSettingsAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }
}
