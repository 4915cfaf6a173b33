using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl keys create|list|revoke</c>: API keys (an admin key is needed for each).</summary>
internal static class KeysCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("keys", "API keys: admin, agent (one tenant's admission), viewer (read-only)")
    {
        CreateKey(globals, terminal),
        List(globals, terminal),
        Revoke(globals, terminal),
    };

    private static Command CreateKey(GlobalOptions globals, Terminal terminal)
    {
        var role = new Option<string>("--role") { Description = "admin, agent or viewer", Required = true, HelpName = "role" };
        role.AcceptOnlyFromAmong("admin", "agent", "viewer");
        var tenant = new Option<string>("--tenant") { Description = "The tenant of an agent key (required) or of a viewer key (optional)", HelpName = "tenant" };
        var name = new Option<string>("--name") { Description = "A label for people, e.g. search-prod", HelpName = "name" };
        var command = new Command("create", "Create a key; its secret is printed this once (with --json: the \"key\" field)") { role, tenant, name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new CreateApiKeyRequest
            {
                Role = parse.GetRequiredValue(role), Tenant = parse.GetValue(tenant) ?? "", Name = parse.GetValue(name) ?? "",
            };
            session.Output.KeyCreated(await session.Management.CreateApiKeyAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command List(GlobalOptions globals, Terminal terminal)
    {
        var all = new Option<bool>("--all") { Description = "Also list revoked keys" };
        var command = new Command("list", "List keys (never their secrets)") { all };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var collected = new List<ApiKey>();
            var row = session.Output.KeyRows(collected);
            var request = new ListApiKeysRequest { IncludeRevoked = parse.GetValue(all), PageSize = 1000 };
            do
            {
                var page = await session.Management.ListApiKeysAsync(request, session.Call(cancellationToken));
                foreach (var key in page.ApiKeys) row(key);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            session.Output.KeyTable(collected);
            return Cli.Ok;
        });
        return command;
    }

    private static Command Revoke(GlobalOptions globals, Terminal terminal)
    {
        var id = new Argument<string>("id") { Description = "The key's id (keys list), the part after bgk_ in its secret" };
        var command = new Command("revoke", "Revoke a key: calls with it fail UNAUTHENTICATED at once") { id };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var key = await session.Management.RevokeApiKeyAsync(new RevokeApiKeyRequest { Id = parse.GetRequiredValue(id) }, session.Call(cancellationToken));
            session.Output.Key(key);
            return Cli.Ok;
        });
        return command;
    }
}

/// <summary><c>budgetctl audit</c>: the audit log of management changes, newest first.</summary>
internal static class AuditCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal)
    {
        var target = new Option<string>("--target") { Description = "Only changes whose target (scope, model, alert or key id) starts with this", HelpName = "prefix" };
        var limit = new Option<int>("--limit") { Description = "Most entries to show (default 50)", DefaultValueFactory = _ => 50, HelpName = "n" };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1) result.AddError("--limit must be at least 1");
        });
        var command = new Command("audit", "Management changes: who (key id), what, before, after, when; newest first") { target, limit };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var collected = new List<AuditEntry>();
            var row = session.Output.AuditRows(collected);
            var left = parse.GetValue(limit);
            var request = new ListAuditRequest { TargetPrefix = parse.GetValue(target) ?? "" };
            do
            {
                request.PageSize = Math.Min(left, 1000);
                var page = await session.Management.ListAuditAsync(request, session.Call(cancellationToken));
                foreach (var entry in page.Entries) row(entry);
                left -= page.Entries.Count;
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0 && left > 0);
            session.Output.AuditTable(collected);
            return Cli.Ok;
        });
        return command;
    }
}
