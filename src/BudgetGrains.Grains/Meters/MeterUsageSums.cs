namespace BudgetGrains.Grains.Meters;

/// <summary>
/// The meter usage of a batch of <see cref="MeterDelta"/> records summed per (scope, period, meter), in key order, for
/// the stores: one row written per key touched, and rows always locked in the same order (no deadlock between the
/// batches of several silos on PostgreSQL).
/// </summary>
public static class MeterUsageSums
{
    public readonly record struct Key(string Scope, long PeriodStartUnixMs, string Meter) : IComparable<Key>
    {
        public int CompareTo(Key other)
        {
            var byScope = string.CompareOrdinal(Scope, other.Scope);
            if (byScope != 0) return byScope;
            var byPeriod = PeriodStartUnixMs.CompareTo(other.PeriodStartUnixMs);
            return byPeriod != 0 ? byPeriod : string.CompareOrdinal(Meter, other.Meter);
        }
    }

    public readonly record struct Sum(long Quantity, long SpentNanos, long Commits);

    public static SortedDictionary<Key, Sum> Of(IEnumerable<MeterDelta> deltas)
    {
        var sums = new SortedDictionary<Key, Sum>();
        foreach (var delta in deltas)
        {
            for (var i = 0; i < delta.Chain.Count; i++)
            {
                foreach (var charge in delta.Meters)
                {
                    var key = new Key(delta.Chain[i], delta.Periods[i], charge.Meter);
                    var sum = sums.GetValueOrDefault(key);
                    sums[key] = new Sum(sum.Quantity + charge.Quantity, sum.SpentNanos + charge.Nanos, sum.Commits + 1);
                }
            }
        }
        return sums;
    }
}
