namespace BudgetGrains.Server.Observability;

/// <summary>
/// The live view's numbers, kept by the silo in memory: admissions and denials per second over the last
/// <see cref="Seconds"/> seconds, committed spend per minute over the last <see cref="Minutes"/> minutes. Ring buffers
/// of slots stamped with their second or minute: recording is two interlocked operations, no allocation.
/// </summary>
public sealed class LiveRates(TimeProvider clock)
{
    public const int Seconds = 120;
    public const int Minutes = 60;

    private readonly Ring _admitted = new(Seconds);
    private readonly Ring _denied = new(Seconds);
    private readonly Ring _spend = new(Minutes);

    public void Decided(bool admitted)
    {
        var second = clock.GetUtcNow().ToUnixTimeSeconds();
        (admitted ? _admitted : _denied).Add(second, 1);
    }

    public void Committed(long chargedNanos) => _spend.Add(clock.GetUtcNow().ToUnixTimeSeconds() / 60, chargedNanos);

    /// <summary>The last complete and the current slots, oldest first, ending with the current second/minute.</summary>
    public LiveSnapshot Snapshot()
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        return new LiveSnapshot(now * 1000, _admitted.Read(now), _denied.Read(now), (now / 60) * 60_000, _spend.Read(now / 60),
            _admitted.Total, _denied.Total, _spend.Total);
    }

    private sealed class Ring(int length)
    {
        private readonly long[] _stamps = new long[length];
        private readonly long[] _values = new long[length];
        private long _total;

        public long Total => Interlocked.Read(ref _total);

        public void Add(long slot, long value)
        {
            var i = (int)(slot % length);
            var stamp = Interlocked.Read(ref _stamps[i]);
            if (stamp != slot && Interlocked.CompareExchange(ref _stamps[i], slot, stamp) == stamp) Interlocked.Exchange(ref _values[i], 0);
            Interlocked.Add(ref _values[i], value);
            Interlocked.Add(ref _total, value);
        }

        public long[] Read(long current)
        {
            var result = new long[length];
            for (var k = 0; k < length; k++)
            {
                var slot = current - (length - 1) + k;
                var i = (int)(slot % length);
                result[k] = Interlocked.Read(ref _stamps[i]) == slot ? Interlocked.Read(ref _values[i]) : 0;
            }
            return result;
        }
    }
}

/// <param name="NowUnixMs">The start of the last slot of the per-second series.</param>
/// <param name="MinuteUnixMs">The start of the last slot of the per-minute series.</param>
public sealed record LiveSnapshot(long NowUnixMs, long[] AdmittedPerSecond, long[] DeniedPerSecond, long MinuteUnixMs, long[] SpendNanosPerMinute,
    long AdmittedTotal, long DeniedTotal, long SpendNanosTotal);
