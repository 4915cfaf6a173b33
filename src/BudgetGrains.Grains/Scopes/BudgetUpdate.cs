namespace BudgetGrains.Grains.Scopes;

/// <summary>The fields of a budget an update names (docs/decisions/0021-partial-budget-updates.md).</summary>
[Flags]
public enum BudgetFields
{
    None = 0,
    Limit = 1,
    Period = 2,
    Thresholds = 4,
    Parent = 8,
    Frozen = 16,
    Currency = 32,
    RequestsPerMinute = 64,
    TokensPerMinute = 128,
    MeterLimits = 256,
    All = Limit | Period | Thresholds | Parent | Frozen | Currency | RequestsPerMinute | TokensPerMinute | MeterLimits,
}

/// <summary>A change of a scope's budget: the values of the fields it names; the other fields are left as they are.</summary>
/// <param name="Values">The new values; only those of <paramref name="Fields"/> are read.</param>
[GenerateSerializer, Immutable]
public sealed record BudgetUpdate(BudgetSettings Values, BudgetFields Fields)
{
    /// <summary>Each field's name on the wire (budget.v1.UpsertBudgetRequest), in declaration order.</summary>
    public static readonly IReadOnlyList<(BudgetFields Field, string Name)> FieldNames =
    [
        (BudgetFields.Limit, "limit_nanos"),
        (BudgetFields.Period, "period"),
        (BudgetFields.Thresholds, "threshold_percents"),
        (BudgetFields.Parent, "parent"),
        (BudgetFields.Frozen, "frozen"),
        (BudgetFields.Currency, "currency"),
        (BudgetFields.RequestsPerMinute, "requests_per_minute"),
        (BudgetFields.TokensPerMinute, "tokens_per_minute"),
        (BudgetFields.MeterLimits, "meter_limits"),
    ];

    /// <summary>The budget a scope starts from when nobody set one: no limit, period none, thresholds 50, 80, 100,
    /// no parent, not frozen, USD, no rate limits, no meter limits.</summary>
    public static BudgetSettings BuiltInDefault(string scope) =>
        new(scope, 0, BudgetPeriod.None, BudgetAdministration.DefaultThresholdPercents, "", false, Iso4217.Default);

    /// <summary>The fields whose value is not the default: what an update without a field mask changes (the
    /// reading old clients' requests get; see decision 0021).</summary>
    public static BudgetFields Given(BudgetSettings s) =>
        (s.LimitNanos != 0 ? BudgetFields.Limit : 0)
        | (s.Period != 0 ? BudgetFields.Period : 0)
        | (s.ThresholdPercents.Count > 0 ? BudgetFields.Thresholds : 0)
        | (s.Parent.Length > 0 ? BudgetFields.Parent : 0)
        | (s.Frozen ? BudgetFields.Frozen : 0)
        | (s.Currency.Length > 0 ? BudgetFields.Currency : 0)
        | (s.RequestsPerMinute != 0 ? BudgetFields.RequestsPerMinute : 0)
        | (s.TokensPerMinute != 0 ? BudgetFields.TokensPerMinute : 0)
        | (s.MeterLimits is { Count: > 0 } ? BudgetFields.MeterLimits : 0);

    /// <summary><paramref name="current"/> with the named fields replaced by this update's values. A named field
    /// left at its default takes the built-in default (empty thresholds = 50, 80, 100; no currency = USD).</summary>
    public BudgetSettings ApplyTo(BudgetSettings current)
    {
        var v = Values;
        bool Named(BudgetFields f) => (Fields & f) != 0;
        return current with
        {
            Scope = v.Scope,
            LimitNanos = Named(BudgetFields.Limit) ? v.LimitNanos : current.LimitNanos,
            Period = Named(BudgetFields.Period) ? (v.Period == 0 ? BudgetPeriod.None : v.Period) : current.Period,
            ThresholdPercents = Named(BudgetFields.Thresholds)
                ? (v.ThresholdPercents.Count == 0 ? BudgetAdministration.DefaultThresholdPercents : v.ThresholdPercents)
                : current.ThresholdPercents,
            Parent = Named(BudgetFields.Parent) ? v.Parent : current.Parent,
            Frozen = Named(BudgetFields.Frozen) ? v.Frozen : current.Frozen,
            Currency = Named(BudgetFields.Currency) ? (v.Currency.Length == 0 ? Iso4217.Default : v.Currency) : current.Currency,
            RequestsPerMinute = Named(BudgetFields.RequestsPerMinute) ? v.RequestsPerMinute : current.RequestsPerMinute,
            TokensPerMinute = Named(BudgetFields.TokensPerMinute) ? v.TokensPerMinute : current.TokensPerMinute,
            // The set is replaced as a whole; none given removes every meter limit (null, so settings compare equal).
            MeterLimits = Named(BudgetFields.MeterLimits) ? (v.MeterLimits is { Count: > 0 } limits ? limits : null) : current.MeterLimits,
        };
    }
}
