namespace BudgetGrains.Grains.Admission;

/// <summary>Why a scope denies (numbered as budget.v1.DenyReason).</summary>
[GenerateSerializer]
public enum DenyReason
{
    None = 0,
    BudgetExhausted = 1,
    Frozen = 2,
    DepthLimit = 3,
    RetryLimit = 4,
    CallLimit = 5,
    RateLimited = 6,
    UnknownPrice = 7,
    TaskEnded = 8,
    NoBudget = 9,
    MeterLimit = 10,
}

/// <summary>Where a reserve's held amount came from (numbered as budget.v1.EstimateSource).</summary>
[GenerateSerializer]
public enum EstimateSource
{
    Given = 1,
    PricedUsage = 2,
    Learned = 3,
}

/// <summary>The answer to a Reserve. Stored with the reservation so a repeated request gets it again.</summary>
/// <param name="DeniedMeter">Denied METER_LIMIT: the meter whose limit at <paramref name="DeniedScope"/> was reached, with
/// the quantity of it left there (<paramref name="RemainingMeterQuantity"/>).</param>
[GenerateSerializer, Immutable]
public sealed record ReserveAnswer(
    bool Admitted,
    string ReservationId,
    DenyReason Reason,
    string DeniedScope,
    long RemainingNanos,
    long ExpiresAtUnixMs,
    IReadOnlyList<string> CrossedThresholds,
    long HeldNanos,
    long RetryAfterMs = 0,
    EstimateSource EstimateSource = EstimateSource.Given,
    string DeniedMeter = "",
    long RemainingMeterQuantity = 0);

/// <summary>The answer to a Commit.</summary>
[GenerateSerializer, Immutable]
public sealed record CommitAnswer(long ChargedNanos, bool Late, bool Overage);

/// <summary>The answer to a Release.</summary>
[GenerateSerializer, Immutable]
public sealed record ReleaseAnswer(bool Released);

/// <summary>The answer to a Check.</summary>
/// <param name="DeniedMeter">Denied METER_LIMIT: the meter whose limit at <paramref name="DeniedScope"/> was reached, with
/// the quantity of it left there (<paramref name="RemainingMeterQuantity"/>), as on <see cref="ReserveAnswer"/>.</param>
public sealed record CheckAnswer(bool Admitted, DenyReason Reason, string DeniedScope, long RemainingNanos, long RetryAfterMs = 0,
    string DeniedMeter = "", long RemainingMeterQuantity = 0);

/// <summary>A value or the failure that prevented it. Expected failures travel as values, not exceptions.</summary>
[GenerateSerializer, Immutable]
public readonly record struct Result<T>(T? Value, Failure? Failure) where T : class
{
    public bool IsSuccess => Failure is null;

    public static implicit operator Result<T>(T value) => new(value, null);
    public static implicit operator Result<T>(Failure failure) => new(null, failure);
}

/// <summary>"Unlimited" remaining, when no scope of a chain has a limit.</summary>
public static class Remaining
{
    public const long Unlimited = long.MaxValue;
}
