namespace BudgetGrains.Grains.Storage;

/// <summary>A shared cost of one pool for one period [start, end), to be split over <see cref="Dimension"/> ("tenant" or
/// "feature") by <see cref="Driver"/> ("tokens", "spend", "calls"); <see cref="Estimated"/> when the amount is not a bill yet.</summary>
public sealed record SharedCostEntry(string Pool, long PeriodStartUnixMs, long PeriodEndUnixMs, long AmountNanos, string Currency, string Driver,
    string Dimension, bool Estimated, long ImportedAtUnixMs);

/// <summary>The ledger's commits of one period summed per tenant or feature scope ("" for commits without one): the usage
/// measures an allocation driver reads.</summary>
public sealed record DriverUsage(string Scope, long Tokens, long SpendNanos, long Calls)
{
    /// <summary>Committed quantity per meter (from the commits' meters), for the <c>meter:NAME</c> drivers.</summary>
    public IReadOnlyDictionary<string, long> Meters { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);
}

/// <summary>An import of a pool for a period that overlaps another period of the same pool (which would count the pool twice).</summary>
public sealed class SharedCostOverlapException(string message) : Exception(message);

/// <summary>
/// Shared costs (docs/decisions/0045) in their own tables and schema component "allocation", written directly in one
/// transaction per import like bills (they are not admission state), and the ledger and open holds read for allocations.
/// </summary>
public interface ISharedCostStore
{
    /// <summary>Stores the costs in one transaction, each replacing the same pool and period; returns how many replaced one.
    /// Fails, storing nothing, with <see cref="SharedCostOverlapException"/> when a cost overlaps another period of its pool, and with
    /// <see cref="InvalidOperationException"/> when more than <see cref="Limits.MaxSharedCosts"/> would be stored.</summary>
    Task<int> ReplaceAsync(IReadOnlyList<SharedCostEntry> costs, CancellationToken cancellationToken);

    /// <summary>Costs whose period overlaps [from, to), in pool, period order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<SharedCostEntry>> ReadAsync(long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken);

    /// <summary>Commits in [from, to) summed per scope of the dimension (tenant; feature, else agent), in scope order, at most
    /// <paramref name="limit"/> scopes.</summary>
    Task<IReadOnlyList<DriverUsage>> ReadDriverUsageAsync(string dimension, long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken);

    /// <summary>What is held now by open holds on scopes of the dimension (those holding more than 0), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<(string Scope, long HeldNanos)>> ReadHeldAsync(string dimension, int limit, CancellationToken cancellationToken);
}

/// <summary>What both shared-cost stores say the same way.</summary>
public static class SharedCosts
{
    public const string Tenant = "tenant";
    public const string Feature = "feature";

    /// <summary>The scope kinds a dimension's rows are: a call without a feature counts under its agent, as in the dashboard's reports.</summary>
    public static IReadOnlyList<string> HeldPrefixes(string dimension) => dimension == Tenant ? ["tenant/"] : ["feature/", "agent/"];

    public static SharedCostOverlapException Overlap(SharedCostEntry cost, long otherStartUnixMs, long otherEndUnixMs) =>
        new($"pool {cost.Pool} is imported already for {Day(otherStartUnixMs)} to {Day(otherEndUnixMs)}, which overlaps {Day(cost.PeriodStartUnixMs)} to " +
            $"{Day(cost.PeriodEndUnixMs)}: import the same period again to replace it, or other periods that do not overlap");

    public static InvalidOperationException TooMany() =>
        new($"more than {Limits.MaxSharedCosts} pool periods would be stored; replace earlier ones (same pool and period) instead");

    private static string Day(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Puts the scopes' committed meter quantities on the driver usage the stores read (the same for both backends).</summary>
public static class AllocationMeters
{
    /// <summary>Returns <paramref name="rows"/> with each row's meters; a scope without a row is left out, as it is for the
    /// other drivers (its row was cut by the report's scope limit).</summary>
    public static List<DriverUsage> With(List<DriverUsage> rows, IEnumerable<(string Scope, string Meter, long Quantity)> meters)
    {
        var byScope = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var (scope, meter, quantity) in meters)
        {
            if (!byScope.TryGetValue(scope, out var quantities)) byScope[scope] = quantities = new(StringComparer.Ordinal);
            quantities[meter] = quantity;
        }
        return byScope.Count == 0 ? rows : rows.ConvertAll(r => byScope.TryGetValue(r.Scope, out var m) ? r with { Meters = m } : r);
    }
}
