using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Alerts;

/// <summary>A scope's spend moving, as its alert rules see it.</summary>
public readonly record struct SpendChange(
    string Scope,
    BudgetPeriod Period,
    long PeriodStartUnixMs,
    long PeriodEndUnixMs,
    long LimitNanos,
    IReadOnlyList<int> ThresholdPercents,
    string Currency,
    long SpentBeforeNanos,
    long SpentAfterNanos,
    long NowUnixMs)
{
    public AlertCandidate Alert(AlertKind kind, int thresholdPercent = 0) =>
        new(kind, Scope, Period, PeriodStartUnixMs, thresholdPercent, SpentAfterNanos, LimitNanos, Currency, NowUnixMs);
}

/// <summary>
/// The alert rules of one scope activation, evaluated in the scope's turn when its spend changes. Threshold alerts
/// fire on committed spend (not on holds, which may be released without spending).
/// </summary>
internal sealed class SpendWatch
{
    /// <summary>Alerts raised by a commit: each threshold whose mark the spend reached with this commit.</summary>
    public List<AlertCandidate>? OnCommit(in SpendChange change)
    {
        if (change.LimitNanos == 0) return null;
        List<AlertCandidate>? alerts = null;
        foreach (var percent in change.ThresholdPercents)
        {
            var mark = Mark(change.LimitNanos, percent);
            if (change.SpentBeforeNanos < mark && change.SpentAfterNanos >= mark) (alerts ??= []).Add(change.Alert(AlertKind.Threshold, percent));
        }
        return alerts;
    }

    /// <summary>After the limit or thresholds changed: every threshold the spend has already reached (the store keeps
    /// only the first alert of each, so those that fired before are not repeated).</summary>
    public static List<AlertCandidate>? Reached(in SpendChange change)
    {
        if (change.LimitNanos == 0) return null;
        List<AlertCandidate>? alerts = null;
        foreach (var percent in change.ThresholdPercents)
            if (change.SpentAfterNanos >= Mark(change.LimitNanos, percent)) (alerts ??= []).Add(change.Alert(AlertKind.Threshold, percent));
        return alerts;
    }

    private static Int128 Mark(long limitNanos, int percent) => (Int128)limitNanos * percent / 100;
}
