using BudgetGrains.Grains.Storage;

namespace BudgetGrains.Server.Allocation;

/// <summary>
/// The usage measures a shared cost is split by (docs/decisions/0046): each names a quantity of a tenant's or feature's
/// commits in the cost's period. Meters ("meter:gpu_seconds") plug in here: <see cref="Validate"/> accepts a meter of the
/// catalog, <see cref="DriverUsage"/> carries the period's meter quantities per scope, and <see cref="Quantity"/> reads them.
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
        _ when driver.StartsWith(MeterPrefix, StringComparison.Ordinal) =>
            $"driver '{Auth.AgentTenancy.Short(driver)}': meter drivers need meter usage in the ledger, which this silo does not record yet; " +
            $"use {Tokens}, {Spend} or {Calls}",
        _ => $"driver must be {Tokens}, {Spend}, {Calls} or {MeterPrefix}NAME, not '{Auth.AgentTenancy.Short(driver)}'",
    };

    /// <summary>The scope's quantity of a validated driver.</summary>
    public static long Quantity(string driver, DriverUsage usage) => driver switch
    {
        Tokens => usage.Tokens,
        Spend => usage.SpendNanos,
        Calls => usage.Calls,
        _ => throw new InvalidOperationException($"driver {driver} was not validated"),
    };

    /// <summary>What "no usage" reads like in a report: "no tokens", "no spend", "no calls".</summary>
    public static string Nothing(string driver) => "no " + driver;
}
