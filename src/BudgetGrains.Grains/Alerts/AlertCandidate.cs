using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Alerts;

/// <summary>What raised an alert (numbered as budget.v1.AlertKind).</summary>
[GenerateSerializer]
public enum AlertKind
{
    Threshold = 1,
    Velocity = 2,
    Forecast = 3,

    /// <summary>A provider's bill drifted from the ledger (ImportBill): Scope "provider/P/M", SpentNanos billed,
    /// LimitNanos counted, ThresholdPercent the bound.</summary>
    Drift = 4,
}

/// <summary>
/// An alert as a scope raises it. It fires once per (scope, period, kind, threshold): the store keeps the first
/// and ignores repeats, so raising is idempotent.
/// </summary>
/// <param name="ThresholdPercent">Threshold alerts: the percent reached; 0 for the other kinds.</param>
[GenerateSerializer, Immutable]
public sealed record AlertCandidate(
    AlertKind Kind,
    string Scope,
    BudgetPeriod Period,
    long PeriodStartUnixMs,
    int ThresholdPercent,
    long SpentNanos,
    long LimitNanos,
    string Currency,
    long FiredAtUnixMs,
    long ForecastNanos = 0,
    long VelocityNanosPerMinute = 0,
    long BaselineNanosPerMinute = 0);

/// <summary>An alert raised, written in the same transaction as the spend (or settings change) that raised it, so an
/// alert is persisted before anything delivers it and is never lost to a crash between the two.</summary>
public sealed record AlertRaised(AlertCandidate Alert) : IJournalRecord;
