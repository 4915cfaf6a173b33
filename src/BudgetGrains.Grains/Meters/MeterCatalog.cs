namespace BudgetGrains.Grains.Meters;

/// <summary>
/// Meter → price, as admission reads it: one immutable snapshot behind a volatile reference, replaced by the meter
/// catalog grain after each durable change (as the price catalog, docs/decisions/0010), so a reserve prices its meters
/// without a lock. A meter the catalog does not have is never charged $0: the call is refused (docs/decisions/0039).
/// </summary>
public sealed class MeterCatalog
{
    private readonly Lock _publishing = new();
    private volatile Snapshot _current = new(new Dictionary<string, CatalogMeter>(StringComparer.Ordinal));

    /// <summary>Prices <paramref name="meters"/>: each one's charge and their total, or the first meter the catalog has
    /// no price for (the caller refuses the call naming it).</summary>
    public MeterPricing Price(IReadOnlyList<MeterQuantity> meters)
    {
        if (meters.Count == 0) return MeterPricing.None;
        var catalog = _current.ByName;
        var charges = new MeterCharge[meters.Count];
        long total = 0;
        for (var i = 0; i < meters.Count; i++)
        {
            if (!catalog.TryGetValue(meters[i].Meter, out var meter)) return new MeterPricing([], 0, meters[i].Meter);
            var nanos = meter.Cost(meters[i].Quantity);
            charges[i] = new MeterCharge(meter.Name, meters[i].Quantity, nanos);
            // A charge may be up to MaxMeterQuantityPerCall × MaxMeterPriceNanos: the total stops just above what a call may
            // cost, so that the caller can add it to a token price (at most MaxCallAmountNanos) without overflow.
            total = Math.Min(total + Math.Min(nanos, Limits.MaxCallAmountNanos + 1), Limits.MaxCallAmountNanos + 1);
        }
        return new MeterPricing(charges, total, "");
    }

    /// <summary>Every meter, in ordinal name order.</summary>
    public IReadOnlyList<CatalogMeter> InNameOrder => _current.Sorted.Value;

    public bool Contains(string name) => _current.ByName.ContainsKey(name);

    internal IReadOnlyDictionary<string, CatalogMeter> ByName => _current.ByName;

    /// <summary>Publishes the meters after they were made durable. Only the meter catalog grain calls this, one turn at a
    /// time; the lock only keeps a misuse from losing an update.</summary>
    internal void Publish(IReadOnlyDictionary<string, CatalogMeter> meters)
    {
        lock (_publishing) _current = new Snapshot(meters);
    }

    private sealed class Snapshot(IReadOnlyDictionary<string, CatalogMeter> byName)
    {
        public IReadOnlyDictionary<string, CatalogMeter> ByName { get; } = byName;

        public Lazy<CatalogMeter[]> Sorted { get; } = new(() => [.. byName.Values.OrderBy(m => m.Name, StringComparer.Ordinal)]);
    }
}

/// <summary>What <see cref="MeterCatalog.Price"/> found.</summary>
/// <param name="TotalNanos">The sum of the charges; MaxCallAmountNanos + 1 when they would cost more than one call may.</param>
/// <param name="Unknown">The first meter without a price; "" when every meter was priced.</param>
public sealed record MeterPricing(IReadOnlyList<MeterCharge> Charges, long TotalNanos, string Unknown)
{
    public static readonly MeterPricing None = new([], 0, "");

    /// <summary>The failure the call gets for a meter without a price (never $0), naming it.</summary>
    public Failure UnknownFailure => Failure.Precondition(
        $"meter '{Unknown}' is not in the meter catalog: add it (UpsertMeter, budgetctl meters set) or leave it out of the call");
}
