using BudgetGrains.Grains.Meters;
using Google.Protobuf.Collections;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>The mapping between wire meters and the catalog's, and of the meter usage of admission calls.</summary>
internal static class MeterMapping
{
    /// <summary>per_units left out (0: proto3 without field presence) is 1: the price is per unit.</summary>
    public static CatalogMeter ToCatalogMeter(V1.Meter m) => new(m.Name, m.Unit, m.PriceNanos, m.PerUnits == 0 ? 1 : m.PerUnits, m.AsOf);

    public static V1.Meter ToProto(CatalogMeter m) => new() { Name = m.Name, Unit = m.Unit, PriceNanos = m.PriceNanos, PerUnits = m.PerUnits, AsOf = m.AsOf };

    /// <summary>Null when the call gives no meter, so a call without meters carries nothing new.</summary>
    public static IReadOnlyList<MeterQuantity>? ToQuantities(RepeatedField<V1.MeterUsage> meters) =>
        meters.Count == 0 ? null : [.. meters.Select(m => new MeterQuantity(m.Meter, m.Quantity))];
}
