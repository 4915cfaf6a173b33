namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// UTC calendar boundaries of budget periods: hours, days, ISO weeks (Monday 00:00 UTC) and months
/// (the 1st, 00:00 UTC). Pure functions of an instant, so a period rolled after a restart lands on the
/// same boundary as one rolled on time.
/// </summary>
public static class PeriodCalendar
{
    /// <summary>The start of the calendar period containing <paramref name="atUnixMs"/>; 0 for <see cref="BudgetPeriod.None"/>.</summary>
    public static long StartOf(BudgetPeriod period, long atUnixMs)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(atUnixMs);
        DateTimeOffset start = period switch
        {
            BudgetPeriod.None => DateTimeOffset.UnixEpoch,
            BudgetPeriod.Hour => new DateTimeOffset(at.Year, at.Month, at.Day, at.Hour, 0, 0, TimeSpan.Zero),
            BudgetPeriod.Day => new DateTimeOffset(at.Year, at.Month, at.Day, 0, 0, 0, TimeSpan.Zero),
            BudgetPeriod.Week => new DateTimeOffset(at.Year, at.Month, at.Day, 0, 0, 0, TimeSpan.Zero)
                .AddDays(-(((int)at.DayOfWeek + 6) % 7)),
            BudgetPeriod.Month => new DateTimeOffset(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => throw new ArgumentOutOfRangeException(nameof(period), period, null),
        };
        return start.ToUnixTimeMilliseconds();
    }

    /// <summary>The first boundary after <paramref name="atUnixMs"/> (when the period containing it ends); 0 for
    /// <see cref="BudgetPeriod.None"/>, which never ends.</summary>
    public static long EndOf(BudgetPeriod period, long atUnixMs)
    {
        if (period == BudgetPeriod.None) return 0;
        var start = DateTimeOffset.FromUnixTimeMilliseconds(StartOf(period, atUnixMs));
        return (period switch
        {
            BudgetPeriod.Hour => start.AddHours(1),
            BudgetPeriod.Day => start.AddDays(1),
            BudgetPeriod.Week => start.AddDays(7),
            _ => start.AddMonths(1),
        }).ToUnixTimeMilliseconds();
    }
}
