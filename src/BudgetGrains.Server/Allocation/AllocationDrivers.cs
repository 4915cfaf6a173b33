using BudgetGrains.Grains.Storage;

namespace BudgetGrains.Server.Allocation;

/// <summary>
/// The usage measures a shared cost is split by (docs/decisions/0046): each names a quantity of a tenant's or feature's
/// commits in the cost's period: tokens, spend, calls, or the committed quantity of one meter ("meter:gpu_seconds", the
/// meters the commits carried, docs/decisions/0040).
/// </summary>
internal static class AllocationDrivers
{
    public const string Tokens = "tokens";
    public const string Spend = "spend";
    public const string Calls = "calls";
    public const string MeterPrefix = "meter:";

    /// <summary>Null when <paramref name="driver"/> can split a cost, else why not.</summary>
    public static string? Validate(string driver) => driver switch
    {
        Tokens or Spend or Calls => null,
        // A meter not in the catalog (or deleted from it) is a valid driver: no commit carries it, so the cost stays unallocated.
        _ when driver.StartsWith(MeterPrefix, StringComparison.Ordinal) =>
            Grains.Meters.MeterRules.Name(driver[MeterPrefix.Length..], "driver's meter") is { } bad ? $"driver '{Auth.AgentTenancy.Short(driver)}': {bad.Message}" : null,
        _ => $"driver must be {Tokens}, {Spend}, {Calls} or {MeterPrefix}NAME, not '{Auth.AgentTenancy.Short(driver)}'",
    };

    /// <summary>The scope's quantity of a validated driver.</summary>
    public static long Quantity(string driver, DriverUsage usage) => driver switch
    {
        Tokens => usage.Tokens,
        Spend => usage.SpendNanos,
        Calls => usage.Calls,
        _ when driver.StartsWith(MeterPrefix, StringComparison.Ordinal) => usage.Meters.GetValueOrDefault(driver[MeterPrefix.Length..]),
        _ => throw new InvalidOperationException($"driver {driver} was not validated"),
    };

    /// <summary>What "no usage" reads like in a report: "no tokens", "no spend", "no calls".</summary>
    public static string Nothing(string driver) => "no " + driver;
}
