using BudgetGrains.Grains.Settings;

namespace BudgetGrains.Grains.Scopes;

/// <summary>A budget's accounting period (numbered as budget.v1.Period).</summary>
[GenerateSerializer]
public enum BudgetPeriod
{
    None = 1,
    Hour = 2,
    Day = 3,
    Week = 4,
    Month = 5,
}

/// <summary>A scope's budget settings, as an admin sets them.</summary>
[GenerateSerializer, Immutable]
public sealed record BudgetSettings(
    string Scope,
    long LimitNanos,
    BudgetPeriod Period,
    IReadOnlyList<int> ThresholdPercents,
    string Parent,
    bool Frozen,
    string Currency,
    long RequestsPerMinute = 0,
    long TokensPerMinute = 0,
    IReadOnlyList<MeterLimit>? MeterLimits = null);

/// <summary>The persistent state of a scope grain: its budget, if it has one. Counters are kept apart (see JournalRecords).</summary>
public sealed class ScopeState
{
    public bool HasBudget { get; set; }
    public long LimitNanos { get; set; }
    public BudgetPeriod Period { get; set; } = BudgetPeriod.None;
    public int[] ThresholdPercents { get; set; } = [];
    public string Parent { get; set; } = "";
    public bool Frozen { get; set; }
    public string Currency { get; set; } = "USD";
    public long RequestsPerMinute { get; set; }
    public long TokensPerMinute { get; set; }
    public long UpdatedAtUnixMs { get; set; }
    /// <summary>Task guardrails set on this scope (features, agents, tasks).</summary>
    public TaskPolicy? TaskPolicy { get; set; }
    /// <summary>Task scopes: the task was ended; nothing more is admitted for it.</summary>
    public bool Ended { get; set; }
    /// <summary>Start of the current period: the key its counters are stored under (0 until a periodic budget is set
    /// on a scope that has not counted anything, or for the first period of a scope that had).</summary>
    public long PeriodStartUnixMs { get; set; }
    /// <summary>When the current period ends (a UTC calendar boundary); 0 = never (period none).</summary>
    public long PeriodEndUnixMs { get; set; }
    /// <summary>The budget is the default budget of the scope's kind (configuration), applied on first use; it follows
    /// the configuration until someone sets the scope's budget.</summary>
    public bool DefaultBudget { get; set; }
    /// <summary>Tenant scopes: the tenant's own UnknownScopes setting (not a budget: it does not give the tenant one).</summary>
    public UnknownScopesMode UnknownScopes { get; set; }
    /// <summary>Task scopes: the outcome it ended with, and whether it is a job (docs/decisions/0042, 0043).</summary>
    public TaskFacts? Task { get; set; }
    /// <summary>Caps on meter quantities per period, in meter order; null when none (docs/decisions/0041).</summary>
    public MeterLimit[]? MeterLimits { get; set; }

    /// <summary>Admission of a call that names a limited meter depends on this scope's meter counts, not only its money.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasMeterLimits => MeterLimits is { Length: > 0 };
}

/// <summary>What a task scope knows about its task beyond its counters: the outcome EndTask recorded ("" until ended), and
/// for a job its pre-run estimate and cap. Immutable: states copied for a change share it.</summary>
public sealed record TaskFacts(string Outcome = "", bool IsJob = false, long JobEstimateNanos = 0, long JobCapNanos = 0);

/// <summary>What StartJob asks of a task scope.</summary>
[GenerateSerializer, Immutable]
public sealed record JobStart(string Tenant, string Feature, string Agent, long EstimateNanos, long CapNanos);

/// <summary>What ending a task did: the reservations still holding there (to release), and the outcome recorded; or,
/// when the task had ended with another outcome, <paramref name="Conflict"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskEnd(IReadOnlyList<string> OpenReservations, string Outcome, bool Conflict = false);

/// <summary>A scope's budget and live counters.</summary>
[GenerateSerializer, Immutable]
public sealed record BudgetStatus(
    string Scope,
    bool HasBudget,
    long LimitNanos,
    long SpentNanos,
    long HeldNanos,
    int OpenHolds,
    BudgetPeriod Period,
    long PeriodStartUnixMs,
    long PeriodEndUnixMs,
    string Parent,
    bool Frozen,
    IReadOnlyList<int> ThresholdPercents,
    string Currency,
    long Denials,
    long Commits,
    long Calls,
    long Retries,
    int DepthMaxSeen,
    bool Ended,
    long RequestsPerMinute,
    long TokensPerMinute,
    bool DefaultBudget = false,
    IReadOnlyList<MeterLimitStatus>? Meters = null)
{
    /// <summary>The budget's settings (the built-in defaults when the scope has none).</summary>
    public BudgetSettings Settings => HasBudget
        ? new(Scope, LimitNanos, Period, ThresholdPercents, Parent, Frozen, Currency, RequestsPerMinute, TokensPerMinute,
            Meters is { Count: > 0 } meters ? [.. meters.Select(m => new MeterLimit(m.Meter, m.MaxQuantity))] : null)
        : BudgetUpdate.BuiltInDefault(Scope);

    /// <summary>Each meter limit with its used and held quantities, in meter order (none: empty).</summary>
    public IReadOnlyList<MeterLimitStatus> MeterLimits => Meters ?? [];
}
