using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Settings;

/// <summary>What a chain with no budget on any scope gets (numbered as budget.v1.UnknownScopes).</summary>
[GenerateSerializer]
public enum UnknownScopesMode
{
    /// <summary>Not set (a tenant without its own setting): the deployment's applies.</summary>
    Unspecified = 0,

    /// <summary>Admitted; spend is counted on the scopes all the same.</summary>
    Open = 1,

    /// <summary>Denied NO_BUDGET.</summary>
    Closed = 2,
}

/// <summary>
/// The deployment's answer for scopes nobody configured (docs/decisions/0023-unknown-scopes.md): whether a chain
/// without any budget is admitted (<see cref="UnknownScopes"/>, which a tenant may override), and the default budget
/// of each scope kind, which a scope of that kind without a budget of its own gets.
/// </summary>
public sealed class ScopeDefaults
{
    /// <summary>Open, no default budgets: the behaviour before the setting existed.</summary>
    public static readonly ScopeDefaults Open = new(UnknownScopesMode.Open, new Dictionary<string, BudgetSettings>(StringComparer.Ordinal));

    private readonly IReadOnlyDictionary<string, BudgetSettings> _budgets;

    private ScopeDefaults(UnknownScopesMode mode, IReadOnlyDictionary<string, BudgetSettings> budgets) =>
        (UnknownScopes, _budgets) = (mode, budgets);

    /// <summary>The deployment's setting: <see cref="UnknownScopesMode.Open"/> or <see cref="UnknownScopesMode.Closed"/>.</summary>
    public UnknownScopesMode UnknownScopes { get; }

    /// <summary>Default budgets by scope kind.</summary>
    public IReadOnlyDictionary<string, BudgetSettings> Budgets => _budgets;

    /// <summary>Checks the settings; the failure names the setting (<paramref name="section"/>:kind).</summary>
    public static Result<ScopeDefaults> Create(UnknownScopesMode mode, IReadOnlyDictionary<string, BudgetSettings> budgetsByKind,
        string section = "DefaultBudgets")
    {
        if (mode is not (UnknownScopesMode.Open or UnknownScopesMode.Closed)) return Failure.Invalid("UnknownScopes must be open or closed");
        var budgets = new Dictionary<string, BudgetSettings>(StringComparer.Ordinal);
        foreach (var (kind, given) in budgetsByKind)
        {
            if (!ScopeIds.KindNames.Contains(kind))
                return Failure.Invalid($"{section}:{kind}: '{kind}' is not a scope kind; kinds are {string.Join(", ", ScopeIds.KindNames)}");
            var settings = given with { Scope = kind + "/default" };
            if (settings.Parent.Length > 0) return Failure.Invalid($"{section}:{kind}: a default budget has no parent");
            if (BudgetAdministration.ValidateSettings(ref settings) is { } invalid) return Failure.Invalid($"{section}:{kind}: {invalid.Message}");
            budgets[kind] = settings;
        }
        return new ScopeDefaults(mode, budgets);
    }

    /// <summary>The default budget of <paramref name="scope"/>'s kind, for that scope; null when its kind has none.</summary>
    public BudgetSettings? DefaultFor(string scope) =>
        _budgets.TryGetValue(ScopeIds.KindOf(scope), out var settings) ? settings with { Scope = scope } : null;

    /// <summary>What a scope without a budget of its own starts from: its kind's default budget, else the built-in one.</summary>
    public BudgetSettings BaseFor(string scope) => DefaultFor(scope) ?? BudgetUpdate.BuiltInDefault(scope);

    /// <summary>The mode that applies to a chain whose tenant set <paramref name="tenant"/> (unspecified = none).</summary>
    public UnknownScopesMode Effective(UnknownScopesMode tenant) => tenant == UnknownScopesMode.Unspecified ? UnknownScopes : tenant;
}
