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

    /// <summary>The meters of the ledger entries of <paramref name="reservationIds"/> (a page of an export, at most
    /// Limits.ExportPageRows), each entry's in meter order; entries without meters are left out.</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<MeterCharge>>> ReadLedgerMetersAsync(IReadOnlyList<string> reservationIds, CancellationToken cancellationToken);
}
