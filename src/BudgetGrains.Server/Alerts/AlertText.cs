using System.Globalization;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Scopes;
using Money = BudgetGrains.Client.Money;

namespace BudgetGrains.Server.Alerts;

/// <summary>Alerts in words, the same everywhere people read them: the API's message, the log, Slack.</summary>
internal static class AlertText
{
    /// <summary>"team/search spent $80.00 of $100.00 (80%) this month".</summary>
    public static string Message(AlertCandidate a)
    {
        var period = PeriodPhrase(a.Period);
        var tail = period.Length == 0 ? "" : " " + period;
        return a.Kind switch
        {
            AlertKind.Velocity =>
                $"{a.Scope} is spending {Amount(a.VelocityNanosPerMinute, a)}/min, over {AnomalyRules.VelocityFactor}x its recent " +
                $"{Amount(a.BaselineNanosPerMinute, a)}/min (spent {Amount(a.SpentNanos, a)}{tail})",
            AlertKind.Forecast =>
                $"{a.Scope} is on course to spend {Amount(a.ForecastNanos, a)} of {Amount(a.LimitNanos, a)} ({Percent(a.ForecastNanos, a.LimitNanos)}){tail}" +
                $" (spent {Amount(a.SpentNanos, a)} so far)",
            AlertKind.Drift =>
                $"{a.Scope} billed {Amount(a.SpentNanos, a)} on {DateTimeOffset.FromUnixTimeMilliseconds(a.PeriodStartUnixMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} where the ledger counted {Amount(a.LimitNanos, a)}" +
                $" ({DriftPhrase(a.SpentNanos, a.LimitNanos)}, bound {a.ThresholdPercent}%)",
            _ => $"{a.Scope} spent {Amount(a.SpentNanos, a)} of {Amount(a.LimitNanos, a)} ({Percent(a.SpentNanos, a.LimitNanos)}){tail}",
        };
    }

    /// <summary>What kind of alert, in a few words: "threshold 80%", "spend velocity", "forecast over limit".</summary>
    public static string Title(AlertCandidate a) => a.Kind switch
    {
        AlertKind.Threshold => $"threshold {a.ThresholdPercent}%",
        AlertKind.Velocity => "spend velocity",
        AlertKind.Forecast => "forecast over limit",
        AlertKind.Drift => "bill drift",
        _ => a.Kind.ToString(),
    };

    /// <summary>"+20% drift" (rounded toward zero), or "not in the ledger" when it counted nothing.</summary>
    private static string DriftPhrase(long billed, long counted) => counted == 0
        ? "not in the ledger"
        : $"{((long)((Int128)(billed - counted) * 100 / counted)).ToString("+0;-0;0", CultureInfo.InvariantCulture)}% drift";

    public static string Amount(long nanos, AlertCandidate a) => Money.Format(nanos, a.Currency);

    /// <summary>Whole percent, rounded down (so "100%" means the limit is reached); "-" without a limit.</summary>
    public static string Percent(long part, long whole) =>
        whole <= 0 ? "-" : ((long)((Int128)part * 100 / whole)).ToString(CultureInfo.InvariantCulture) + "%";

    /// <summary>"month from 2026-11-01", or "none" for a budget without periods.</summary>
    public static string Period(AlertCandidate a) => a.Period == BudgetPeriod.None
        ? "none"
        : $"{a.Period.ToString().ToLowerInvariant()} from {DateTimeOffset.FromUnixTimeMilliseconds(a.PeriodStartUnixMs).UtcDateTime.ToString(
            a.Period == BudgetPeriod.Hour ? "yyyy-MM-dd HH:mm 'UTC'" : "yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    private static string PeriodPhrase(BudgetPeriod period) => period switch
    {
        BudgetPeriod.Hour => "this hour",
        BudgetPeriod.Day => "today",
        BudgetPeriod.Week => "this week",
        BudgetPeriod.Month => "this month",
        _ => "",
    };
}
