namespace BudgetGrains.Grains;

/// <summary>Grain type names, as stored in grain ids and in the store.</summary>
public static class GrainTypes
{
    public const string Scope = "scope";
    public const string Reservation = "reservation";
    public const string ReservationShard = "reservation_shard";
    public const string Estimate = "estimate";
    public const string PriceCatalog = "price_catalog";
    public const string MeterCatalog = "meter_catalog";
}
