using BudgetGrains.Contracts.V1;
using Spectre.Console;

namespace BudgetGrains.Cli;

/// <summary>How API keys and the audit log are printed.</summary>
internal sealed partial class Output
{
    /// <summary>A created key: with --json one object whose <c>key</c> is the secret; for people the secret on its own line.</summary>
    public void KeyCreated(CreateApiKeyResponse created)
    {
        if (Json(created)) return;
        Key(created.ApiKey);
        Line("key", created.Key);
        Console.MarkupLine("[yellow]the key is shown this once: the silo keeps only a salted hash of it[/]");
    }

    public void Key(ApiKey key)
    {
        if (Json(key)) return;
        Line("id", key.Id);
        Line("role", key.Role);
        Line("tenant", key.Tenant.Length == 0 ? "(every tenant)" : key.Tenant);
        Line("name", key.Name.Length == 0 ? "-" : key.Name);
        Line("created", $"{Timestamp(key.CreatedAtUnixMs)} by {(key.CreatedBy.Length == 0 ? "-" : key.CreatedBy)}");
        if (key.RevokedAtUnixMs != 0) MarkupLine("revoked", $"[red]{Markup.Escape(Timestamp(key.RevokedAtUnixMs))} by {Markup.Escape(key.RevokedBy)}[/]");
    }

    public Action<ApiKey> KeyRows(List<ApiKey> collected) => json ? key => Json(key) : collected.Add;

    public void KeyTable(IReadOnlyList<ApiKey> keys)
    {
        if (json) return;
        if (keys.Count == 0)
        {
            Console.MarkupLine("[grey]no API keys[/]");
            return;
        }

        var table = new Table().AddColumns("id", "role", "tenant", "name", "created", "revoked");
        foreach (var k in keys)
        {
            table.AddRow(Markup.Escape(k.Id), Markup.Escape(k.Role), Markup.Escape(k.Tenant.Length == 0 ? "*" : k.Tenant),
                Markup.Escape(k.Name), Markup.Escape(Timestamp(k.CreatedAtUnixMs)),
                k.RevokedAtUnixMs == 0 ? "-" : $"[red]{Markup.Escape(Timestamp(k.RevokedAtUnixMs))}[/]");
        }

        Console.Write(table);
        Console.MarkupLine($"[grey]{Plural(keys.Count, "key")}; secrets are never shown again[/]");
    }

    public Action<AuditEntry> AuditRows(List<AuditEntry> collected) => json ? entry => Json(entry) : collected.Add;

    public void AuditTable(IReadOnlyList<AuditEntry> entries)
    {
        if (json) return;
        if (entries.Count == 0)
        {
            Console.MarkupLine("[grey]no audit entries[/]");
            return;
        }

        var table = new Table().AddColumns("#", "when", "key", "rpc", "target", "from");
        table.Columns[0].RightAligned();
        foreach (var e in entries)
        {
            table.AddRow(e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(Timestamp(e.AtUnixMs)),
                Markup.Escape(e.KeyId.Length == 0 ? "-" : e.KeyId), Markup.Escape(e.Rpc), Markup.Escape(e.Target.Length == 0 ? "-" : e.Target),
                Markup.Escape(e.Peer));
        }

        Console.Write(table);
        Console.MarkupLine($"[grey]{Plural(entries.Count, "entry")}, newest first; --json shows before and after[/]");
    }
}
