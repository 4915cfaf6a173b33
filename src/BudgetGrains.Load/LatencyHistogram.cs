using System.Numerics;

namespace BudgetGrains.Load;

/// <summary>
/// A log-linear latency histogram in the manner of HdrHistogram: values below 128 ns are exact, above
/// that each power of two is split into 64 linear sub-buckets, so any value is known within 1/64 (1.6%).
/// Recording is one array increment with no allocation; one instance per caller, merged at the end.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 7;
    private const int SubBucketCount = 1 << SubBucketBits;
    private const int HalfCount = SubBucketCount / 2;

    // Enough buckets for any positive long (top bit 62).
    private readonly long[] _counts = new long[SubBucketCount + (63 - SubBucketBits) * HalfCount];

    public long Count { get; private set; }

    public long MaxNanos { get; private set; }

    public void Record(long nanos)
    {
        if (nanos < 0) nanos = 0;
        _counts[IndexOf(nanos)]++;
        Count++;
        if (nanos > MaxNanos) MaxNanos = nanos;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        Count += other.Count;
        MaxNanos = Math.Max(MaxNanos, other.MaxNanos);
    }

    /// <summary>The highest value equivalent to the one at <paramref name="percentile"/> (0..100), as HdrHistogram reports it.</summary>
    public long PercentileNanos(double percentile)
    {
        if (Count == 0) return 0;
        var rank = (long)Math.Ceiling(percentile / 100 * Count);
        if (rank < 1) rank = 1;
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return Math.Min(HighestEquivalent(i), MaxNanos);
        }
        return MaxNanos;
    }

    private static int IndexOf(long value)
    {
        if (value < SubBucketCount) return (int)value;
        var shift = BitOperations.Log2((ulong)value) - (SubBucketBits - 1);
        var sub = (int)(value >> shift);
        return SubBucketCount + (shift - 1) * HalfCount + (sub - HalfCount);
    }

    private static long HighestEquivalent(int index)
    {
        if (index < SubBucketCount) return index;
        var shift = (index - SubBucketCount) / HalfCount + 1;
        var sub = (long)((index - SubBucketCount) % HalfCount + HalfCount);
        return ((sub + 1) << shift) - 1;
    }
}
