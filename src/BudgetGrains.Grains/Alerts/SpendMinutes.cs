namespace BudgetGrains.Grains.Alerts;

/// <summary>
/// A scope's committed spend per minute over the last hour, in memory (a ring of per-minute sums): what VELOCITY
/// compares. It knows only what this activation saw, so it also remembers since when it has been watching.
/// </summary>
internal sealed class SpendMinutes(long firstMinute)
{
    public const int Span = AnomalyRules.RecentMinutes + AnomalyRules.BaselineMinutes;

    private readonly long[] _nanos = new long[Span];
    private long _lastMinute = firstMinute;

    /// <summary>The first minute this activation watched.</summary>
    public long FirstMinute { get; } = firstMinute;

    public static long MinuteOf(long unixMs) => Math.DivRem(unixMs, 60_000, out var rest) - (rest < 0 ? 1 : 0);

    /// <summary>Adds spend (negative: an undone commit) to <paramref name="minute"/>; a clock that stepped back adds to the latest minute.</summary>
    public void Add(long minute, long nanos)
    {
        MoveTo(minute);
        ref var bucket = ref _nanos[Slot(_lastMinute)];
        bucket = Math.Max(0, bucket + nanos);
    }

    /// <summary>Spend over minutes <paramref name="from"/> to <paramref name="to"/> (inclusive), both within the last hour.</summary>
    public Int128 Sum(long from, long to)
    {
        Int128 sum = 0;
        for (var minute = Math.Max(from, _lastMinute - Span + 1); minute <= Math.Min(to, _lastMinute); minute++) sum += _nanos[Slot(minute)];
        return sum;
    }

    /// <summary>How many minutes from <paramref name="from"/> to <paramref name="to"/> (inclusive) had spend.</summary>
    public int ActiveMinutes(long from, long to)
    {
        var active = 0;
        for (var minute = Math.Max(from, _lastMinute - Span + 1); minute <= Math.Min(to, _lastMinute); minute++)
            if (_nanos[Slot(minute)] > 0) active++;
        return active;
    }

    /// <summary>Zeroes the minutes that passed since the last one seen, so the ring never shows spend older than an hour.</summary>
    private void MoveTo(long minute)
    {
        if (minute <= _lastMinute) return;
        for (var m = Math.Max(_lastMinute + 1, minute - Span + 1); m <= minute; m++) _nanos[Slot(m)] = 0;
        _lastMinute = minute;
    }

    private static int Slot(long minute) => (int)(((minute % Span) + Span) % Span);
}
