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
    /// <summary>Anomalies are watched on scopes with a budget only: someone asked to be told about those.</summary>
    public bool HasBudget { get; init; }

    public AlertCandidate Alert(AlertKind kind, int thresholdPercent = 0) =>
        new(kind, Scope, Period, PeriodStartUnixMs, thresholdPercent, SpentAfterNanos, LimitNanos, Currency, NowUnixMs);
}

/// <summary>
/// The alert rules of one scope activation, evaluated in the scope's turn when its spend changes (no calls, no I/O).
/// Threshold alerts fire on committed spend (not on holds, which may be released without spending). The anomaly
/// rules (<see cref="AnomalyRules"/>) fire at most once per period; the store's unique key makes that hold across
/// activations too, and the memory here only saves raising them again on every commit.
/// </summary>
internal sealed class SpendWatch
{
    private SpendMinutes? _minutes;
    // The period each anomaly last fired in; a new period arms it again.
    private long? _velocityFiredIn;
    private long? _forecastFiredIn;

    /// <summary>Alerts raised by a commit: each threshold whose mark the spend reached with this commit, and the anomalies.</summary>
    public List<AlertCandidate>? OnCommit(in SpendChange change)
    {
        List<AlertCandidate>? alerts = null;
        if (change.LimitNanos > 0)
        {
            foreach (var percent in change.ThresholdPercents)
            {
                var mark = Mark(change.LimitNanos, percent);
                if (change.SpentBeforeNanos < mark && change.SpentAfterNanos >= mark) (alerts ??= []).Add(change.Alert(AlertKind.Threshold, percent));
            }
        }
        if (!change.HasBudget) return alerts;

        var minute = SpendMinutes.MinuteOf(change.NowUnixMs);
        _minutes ??= new SpendMinutes(minute);
        _minutes.Add(minute, change.SpentAfterNanos - change.SpentBeforeNanos);
        var velocityWindow = VelocityWindow(change);
        if (_velocityFiredIn != velocityWindow && Velocity(change, _minutes, minute) is { } velocity)
        {
            (alerts ??= []).Add(velocity with { PeriodStartUnixMs = velocityWindow });
            _velocityFiredIn = velocityWindow;
        }
        if (_forecastFiredIn != change.PeriodStartUnixMs && Forecast(change) is { } forecast)
        {
            (alerts ??= []).Add(forecast);
            _forecastFiredIn = change.PeriodStartUnixMs;
        }
        return alerts;
    }

    /// <summary>A commit's write failed: its spend never happened, and anomalies it raised were never stored, so they may fire again.</summary>
    public void OnCommitUndone(long actualNanos, long nowUnixMs)
    {
        _minutes?.Add(SpendMinutes.MinuteOf(nowUnixMs), -actualNanos);
        (_velocityFiredIn, _forecastFiredIn) = (null, null);
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

    /// <summary>VELOCITY: the recent rate is at least <see cref="AnomalyRules.VelocityFactor"/> times the baseline rate,
    /// above the floor and sustained, with enough baseline watched. Rates compare as cross products, so no division rounds.</summary>
    /// <summary>
    /// A runaway loop is news again the next day: velocity fires at most once per UTC day and per period (the key of its
    /// alert is the later of the two starts), so a budget with period none or a monthly one is not silenced for good by
    /// its first alert, and an hourly budget can fire each hour.
    /// </summary>
    internal static long VelocityWindow(in SpendChange change) =>
        Math.Max(change.PeriodStartUnixMs, PeriodCalendar.StartOf(BudgetPeriod.Day, change.NowUnixMs));

    internal static AlertCandidate? Velocity(in SpendChange change, SpendMinutes minutes, long minute)
    {
        var baselineTo = minute - AnomalyRules.RecentMinutes;
        var baselineFrom = Math.Max(baselineTo - AnomalyRules.BaselineMinutes + 1, minutes.FirstMinute);
        var baselineMinutes = baselineTo - baselineFrom + 1;
        if (baselineMinutes < AnomalyRules.MinBaselineMinutes) return null;
        var recent = minutes.Sum(baselineTo + 1, minute);
        var baseline = minutes.Sum(baselineFrom, baselineTo);
        if (recent < (Int128)AnomalyRules.VelocityFloorNanosPerMinute * AnomalyRules.RecentMinutes) return null;
        if (minutes.ActiveMinutes(baselineTo + 1, minute) < AnomalyRules.MinActiveRecentMinutes) return null;
        if (recent * baselineMinutes < baseline * AnomalyRules.RecentMinutes * AnomalyRules.VelocityFactor) return null;
        return change.Alert(AlertKind.Velocity) with
        {
            VelocityNanosPerMinute = Clamp(recent / AnomalyRules.RecentMinutes),
            BaselineNanosPerMinute = Clamp(baseline / baselineMinutes),
        };
    }

    /// <summary>FORECAST: on a periodic budget with a limit, still under it, the period's spend projected linearly to its
    /// end is above the limit, once enough of the period has passed.</summary>
    internal static AlertCandidate? Forecast(in SpendChange change)
    {
        if (change.LimitNanos == 0 || change.PeriodEndUnixMs == 0 || change.SpentAfterNanos >= change.LimitNanos) return null;
        var length = (Int128)change.PeriodEndUnixMs - change.PeriodStartUnixMs;
        var elapsed = (Int128)change.NowUnixMs - change.PeriodStartUnixMs;
        if (length <= 0 || elapsed * 100 < length * AnomalyRules.MinElapsedPercent) return null;
        var projected = change.SpentAfterNanos * length / elapsed;
        return projected > change.LimitNanos ? change.Alert(AlertKind.Forecast) with { ForecastNanos = Clamp(projected) } : null;
    }

    private static long Clamp(Int128 value) => value > long.MaxValue ? long.MaxValue : (long)value;

    private static Int128 Mark(long limitNanos, int percent) => (Int128)limitNanos * percent / 100;
}
