using BudgetGrains.Grains.Journal;

namespace BudgetGrains.Grains.Meters;

// The durable effects of meters: the catalog one row per meter (as prices), and each commit's meter quantities, kept in
// tables of their own (ledger_meters, scope_meter_usage) so the token ledger and counters are not widened.

/// <summary>Create or replace a meter of the catalog.</summary>
public sealed record MeterStored(CatalogMeter Meter) : IJournalRecord;

/// <summary>Remove a meter from the catalog.</summary>
public sealed record MeterDeleted(string Name) : IJournalRecord;

/// <summary>
/// The meter quantities of one commit, written in the commit's transaction: one ledger row per meter for the
/// reservation, and the quantities and charges added to the usage of every scope of the chain, in the period each
/// scope counted the commit in (<paramref name="Periods"/>, as LedgerEntry.Periods).
/// </summary>
public sealed record MeterDelta(
    string ReservationId,
    IReadOnlyList<string> Chain,
    IReadOnlyList<long> Periods,
    IReadOnlyList<MeterCharge> Meters,
    long CommittedAtUnixMs) : IJournalRecord;

/// <summary>
/// Meter quantities held (<paramref name="Sign"/> +1: a reserve admitted) or no longer held (-1: its commit, release or
/// expiry) on every scope of <paramref name="Chain"/>, written in the reservation's transaction like its held money, so
/// a scope's held quantities are rebuilt from the store after a restart (scope_meter_holds, docs/decisions/0041).
/// </summary>
public sealed record MeterHoldDelta(IReadOnlyList<string> Chain, IReadOnlyList<MeterQuantity> Meters, int Sign) : IJournalRecord
{
    /// <summary>The held quantities of a batch summed per (scope, meter), in key order: one row written per key touched,
    /// rows always locked in the same order (no deadlock between the batches of several silos on PostgreSQL).</summary>
    public static SortedDictionary<(string Scope, string Meter), long> Sums(IEnumerable<MeterHoldDelta> deltas)
    {
        var sums = new SortedDictionary<(string Scope, string Meter), long>(KeyOrder.Instance);
        foreach (var delta in deltas)
            foreach (var scope in delta.Chain)
                foreach (var m in delta.Meters)
                    sums[(scope, m.Meter)] = sums.GetValueOrDefault((scope, m.Meter)) + delta.Sign * m.Quantity;
        return sums;
    }

    private sealed class KeyOrder : IComparer<(string Scope, string Meter)>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare((string Scope, string Meter) x, (string Scope, string Meter) y)
        {
            var byScope = string.CompareOrdinal(x.Scope, y.Scope);
            return byScope != 0 ? byScope : string.CompareOrdinal(x.Meter, y.Meter);
        }
    }
}

/// <summary>What a scope grain loads per meter when it activates: used in its current period, and held by open holds.</summary>
public sealed record ScopeMeterCount(string Meter, long UsedQuantity, long HeldQuantity);

/// <summary>A scope's usage of one meter in one period.</summary>
[GenerateSerializer, Immutable]
public sealed record MeterUsageRow(string Meter, long Quantity, long SpentNanos, long Commits);

/// <summary>The meter queries a store answers.</summary>
public interface IMeterStore
{
    /// <summary>The catalog (read once, when the silo starts).</summary>
    Task<IReadOnlyList<CatalogMeter>> ReadCatalogAsync(CancellationToken cancellationToken);

    /// <summary>A scope's usage per meter in the period starting at <paramref name="periodStartUnixMs"/>, in meter order.</summary>
    Task<IReadOnlyList<MeterUsageRow>> ReadUsageAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken);

    /// <summary>A scope's used quantity of each meter in the period starting at <paramref name="periodStartUnixMs"/> and its held
    /// quantity of each (every meter it has a row for in either).</summary>
    Task<IReadOnlyList<ScopeMeterCount>> ReadScopeMeterCountsAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken);

    /// <summary>The meters of the ledger entries of <paramref name="reservationIds"/> (a page of an export, at most
    /// Limits.ExportPageRows), each entry's in meter order; entries without meters are left out.</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<MeterCharge>>> ReadLedgerMetersAsync(IReadOnlyList<string> reservationIds, CancellationToken cancellationToken);
}
