using System.Buffers;

namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// Scope ids are "kind/key" (DESIGN.md §3). Keys are 1–128 characters of [A-Za-z0-9._:-];
/// task keys may carry their tenant as a first segment ("task/acme/run-42") so that task names
/// only need to be unique within a tenant.
/// </summary>
public static class ScopeIds
{
    public const string CostCenter = "cost_center";
    public const string Team = "team";
    public const string Tenant = "tenant";
    public const string Feature = "feature";
    public const string Agent = "agent";
    public const string Task = "task";
    public const string Budget = "budget";

    private static readonly string[] Kinds = [CostCenter, Team, Tenant, Feature, Agent, Task, Budget];

    /// <summary>Every scope kind.</summary>
    public static IReadOnlyList<string> KindNames => Kinds;

    /// <summary>The kind of a valid scope id ("team" of "team/search").</summary>
    public static string KindOf(string scope) => scope[..Math.Max(0, scope.IndexOf('/'))];

    private static readonly SearchValues<char> KeyChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");

    /// <summary>Null when <paramref name="key"/> is a valid single-segment key, else why not.</summary>
    public static string? ValidateKey(string key, string what)
    {
        if (key.Length == 0) return $"{what} is empty";
        if (key.Length > Limits.MaxScopeKeyLength)
            return $"{what} is {key.Length} characters; the limit is {Limits.MaxScopeKeyLength}";
        var bad = key.AsSpan().IndexOfAnyExcept(KeyChars);
        return bad < 0 ? null : $"{what} '{Truncate(key)}' has '{key[bad]}'; keys are made of A-Z a-z 0-9 . _ : -";
    }

    /// <summary>Null when <paramref name="scope"/> is a valid scope id, else why not.</summary>
    public static string? Validate(string scope)
    {
        var slash = scope.IndexOf('/');
        if (slash <= 0) return $"scope '{Truncate(scope)}' is not of the form kind/key (e.g. team/search)";
        var kind = scope[..slash];
        if (Array.IndexOf(Kinds, kind) < 0)
            return $"scope kind '{Truncate(kind)}' is unknown; kinds are {string.Join(", ", Kinds)}";
        var key = scope[(slash + 1)..];
        if (kind == Task)
        {
            var inner = key.IndexOf('/');
            if (inner >= 0)
                return ValidateKey(key[..inner], "task tenant") ?? ValidateKey(key[(inner + 1)..], "task key");
        }
        return ValidateKey(key, "scope key");
    }

    public static string Of(string kind, string key) => kind + "/" + key;

    /// <summary>The task scope of an attribution: namespaced by tenant when there is one.</summary>
    public static string OfTask(string tenant, string task) =>
        tenant.Length == 0 ? Of(Task, task) : Of(Task, tenant + "/" + task);

    public static bool IsTask(string scope) => scope.StartsWith(Task + "/", StringComparison.Ordinal);

    /// <summary>The tenant of a task scope ("task/acme/run-42" is acme's); "" for a task without a tenant ("task/run-42").</summary>
    public static string TenantOfTask(string scope)
    {
        var key = scope[(Task.Length + 1)..];
        var slash = key.IndexOf('/');
        return slash < 0 ? "" : key[..slash];
    }

    internal static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
