using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Meters;

namespace BudgetGrains.Grains.Scopes;

/// <summary>A cap on the quantity of one meter a scope may use per period (docs/decisions/0041).</summary>
[GenerateSerializer, Immutable]
public sealed record MeterLimit(string Meter, long MaxQuantity);

/// <summary>One meter limit of a scope with the quantity committed in the current period and held by open holds.</summary>
[GenerateSerializer, Immutable]
public sealed record MeterLimitStatus(string Meter, long MaxQuantity, long UsedQuantity, long HeldQuantity);

/// <summary>The input rules of a scope's meter limits.</summary>
public static class MeterLimitRules
{
    /// <summary>Checks <paramref name="limits"/> and returns them in meter order (the order they are stored and shown in);
    /// a meter the catalog does not have is FAILED_PRECONDITION naming it, as on Reserve: a limit on a meter no call
    /// can be priced for would never apply.</summary>
    public static Result<MeterLimit[]> Validate(IReadOnlyList<MeterLimit> limits, MeterCatalog catalog)
    {
        if (limits.Count > Limits.MaxMeterLimitsPerScope)
            return Failure.Invalid($"meter_limits has {limits.Count} entries; the limit is {Limits.MaxMeterLimitsPerScope}");
        for (var i = 0; i < limits.Count; i++)
        {
            var limit = limits[i];
            if (MeterRules.Name(limit.Meter, $"meter_limits[{i}].meter") is { } badName) return badName;
            if (limit.MaxQuantity is < 1 or > Limits.MaxMeterLimitQuantity)
                return Failure.Invalid($"meter_limits[{i}].max_quantity of {limit.Meter} is {limit.MaxQuantity}; it must be between 1 and {Limits.MaxMeterLimitQuantity}");
            for (var j = 0; j < i; j++)
                if (limits[j].Meter == limit.Meter)
                    return Failure.Invalid($"meter_limits[{i}]: meter {limit.Meter} is also meter_limits[{j}]; give each meter once");
        }
        foreach (var limit in limits)
            if (!catalog.Contains(limit.Meter))
                return Failure.Precondition($"meter '{limit.Meter}' is not in the meter catalog: add it (UpsertMeter, budgetctl meters set) before limiting it");
        return limits.OrderBy(l => l.Meter, StringComparer.Ordinal).ToArray();
    }
}

/// <summary>
/// A scope's quantities per meter: committed in the current period (used) and estimated by open holds (held, carried
/// over a period boundary like held money). Kept for every meter a call names, limited or not, so that a limit set
/// while holds are open counts them. Only metered calls reach it: the scope grain allocates it on the first.
/// </summary>
internal sealed class ScopeMeterCounts
{
    private readonly Dictionary<string, (long Used, long Held)> _counts = new(StringComparer.Ordinal);

    public long Used(string meter) => _counts.GetValueOrDefault(meter).Used;

    public long Held(string meter) => _counts.GetValueOrDefault(meter).Held;

    public void Load(string meter, long used, long held) => _counts[meter] = (used, held);

    /// <summary>Adds <paramref name="sign"/> × each quantity to the held (or, <paramref name="used"/>, the committed) counts.</summary>
    public void Add(IReadOnlyList<MeterQuantity> meters, int sign, bool used = false)
    {
        foreach (var m in meters)
        {
            var (u, h) = _counts.GetValueOrDefault(m.Meter);
            _counts[m.Meter] = used ? (checked(u + sign * m.Quantity), h) : (u, checked(h + sign * m.Quantity));
        }
    }

    /// <summary>A new period starts with nothing used; holds stay.</summary>
    public void ZeroUsed()
    {
        foreach (var meter in _counts.Keys.ToArray()) _counts[meter] = (0, _counts[meter].Held);
    }
}
