namespace BudgetGrains.Grpc.Internal;

/// <summary>Parses and formats the <c>grpc-timeout</c> header: 1 to 8 ASCII digits followed by a unit (H M S m u n).</summary>
internal static class GrpcTimeout
{
    /// <summary>The spec caps TimeoutValue at 8 digits.</summary>
    public const int MaxDigits = 8;

    /// <summary>Largest value expressible in <see cref="MaxDigits"/> digits.</summary>
    public const long MaxValue = 99_999_999;

    /// <summary>Parses a header value. Returns false for anything malformed.</summary>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length < 2 || value.Length > MaxDigits + 1)
        {
            return false;
        }

        long amount = 0;
        var digits = value.Slice(0, value.Length - 1);
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            amount = (amount * 10) + (c - '0');
        }

        long ticks;
        switch (value[^1])
        {
            case 'H': ticks = amount * TimeSpan.TicksPerHour; break;
            case 'M': ticks = amount * TimeSpan.TicksPerMinute; break;
            case 'S': ticks = amount * TimeSpan.TicksPerSecond; break;
            case 'm': ticks = amount * TimeSpan.TicksPerMillisecond; break;
            case 'u': ticks = amount * TimeSpan.TicksPerMicrosecond; break;
            case 'n': ticks = amount / TimeSpan.NanosecondsPerTick; break;
            default: return false;
        }

        // 99,999,999 hours is 3.6e18 ticks, still inside a long: no overflow is possible with 8 digits.
        timeout = new TimeSpan(ticks);
        return true;
    }

    /// <summary>Formats a positive timeout with the finest unit whose value fits in 8 digits, rounding up.</summary>
    public static string Format(TimeSpan timeout)
    {
        var ticks = Math.Max(timeout.Ticks, 1);
        var micros = CeilDiv(ticks, TimeSpan.TicksPerMicrosecond);
        if (micros <= MaxValue)
        {
            return micros.ToString(System.Globalization.CultureInfo.InvariantCulture) + "u";
        }

        var millis = CeilDiv(ticks, TimeSpan.TicksPerMillisecond);
        if (millis <= MaxValue)
        {
            return millis.ToString(System.Globalization.CultureInfo.InvariantCulture) + "m";
        }

        var seconds = CeilDiv(ticks, TimeSpan.TicksPerSecond);
        if (seconds <= MaxValue)
        {
            return seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + "S";
        }

        var minutes = CeilDiv(ticks, TimeSpan.TicksPerMinute);
        if (minutes <= MaxValue)
        {
            return minutes.ToString(System.Globalization.CultureInfo.InvariantCulture) + "M";
        }

        return Math.Min(CeilDiv(ticks, TimeSpan.TicksPerHour), MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture) + "H";
    }

    private static long CeilDiv(long value, long divisor) => (value / divisor) + (value % divisor == 0 ? 0 : 1);
}
