namespace BudgetGrains.Grains.Alerts;

/// <summary>
/// The parameters of the anomaly alerts (docs/decisions/0009-alerts-and-anomalies.md explains the choices).
/// VELOCITY: over the last <see cref="RecentMinutes"/> minutes a scope spent at least <see cref="VelocityFactor"/> times
/// its own per-minute rate of the <see cref="BaselineMinutes"/> minutes before, and at least
/// <see cref="VelocityFloorNanosPerMinute"/>, in at least <see cref="MinActiveRecentMinutes"/> of those minutes; judged
/// only once the scope was watched for <see cref="MinBaselineMinutes"/> minutes of baseline. FORECAST: spent × period length / elapsed exceeds the limit,
/// judged once <see cref="MinElapsedPercent"/> of the period has passed.
/// </summary>
public static class AnomalyRules
{
    /// <summary>The window whose rate is compared with the baseline: long enough to ride over one expensive call.</summary>
    public const int RecentMinutes = 5;

    /// <summary>The baseline: the rest of the last hour.</summary>
    public const int BaselineMinutes = 55;

    /// <summary>Baseline minutes a scope must have been watched (activation memory) before its rate is judged.</summary>
    public const int MinBaselineMinutes = 30;

    /// <summary>How many times the baseline rate counts as a runaway.</summary>
    public const int VelocityFactor = 10;

    /// <summary>A runaway loop spends minute after minute; one expensive call lands in one minute and is not a runaway.</summary>
    public const int MinActiveRecentMinutes = 3;

    /// <summary>Below $1.00 a minute ($60 an hour) a rate is not alarming, whatever the baseline (a quiet scope waking up).</summary>
    public const long VelocityFloorNanosPerMinute = 1_000_000_000;

    /// <summary>A projection from the first few percent of a period is noise: wait for a fifth of it.</summary>
    public const int MinElapsedPercent = 20;
}
