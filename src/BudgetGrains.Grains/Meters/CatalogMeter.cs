using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Meters;

/// <summary>
/// One meter of the catalog (docs/decisions/0039): usage other than model tokens (GPU-seconds, embedding tokens, vector
/// queries, ...) with its unit and its price: <paramref name="PriceNanos"/> for every <paramref name="PerUnits"/> units,
/// so a fraction of a nano per unit ($0.02 per 1M embedding tokens = 20,000,000 nanos per 1,000,000) stays an integer.
/// </summary>
/// <param name="AsOf">An ISO date, "2026-12-01": when the price was taken from the provider's (or the operator's) list.</param>
[GenerateSerializer, Immutable]
public sealed record CatalogMeter(string Name, string Unit, long PriceNanos, long PerUnits, string AsOf)
{
    /// <summary>The cost of <paramref name="quantity"/> units, rounded up to a whole nano (never under-charged), exact in
    /// 128 bits: ceil(quantity × price_nanos / per_units).</summary>
    public long Cost(long quantity)
    {
        var (whole, rest) = Int128.DivRem((Int128)quantity * PriceNanos, PerUnits);
        return (long)(rest == 0 ? whole : whole + 1);
    }
}

/// <summary>Some units of one meter, as a Reserve (estimate), Check or Commit (actual) gives them.</summary>
[GenerateSerializer, Immutable]
public sealed record MeterQuantity(string Meter, long Quantity);

/// <summary>A meter's quantity on a commit and what it was charged.</summary>
[GenerateSerializer, Immutable]
public sealed record MeterCharge(string Meter, long Quantity, long Nanos);

/// <summary>The input rules every meter and every meter quantity obeys.</summary>
public static class MeterRules
{
    /// <summary>The meters the issue names, documented so deployments use one spelling; they are priced like any other
    /// (an operator's price: nothing ships priced, a GPU-second costs what the operator's hardware costs).</summary>
    public static readonly IReadOnlyList<string> WellKnown =
        ["gpu_seconds", "embedding_tokens", "vector_queries", "storage_gb_hours", "egress_gb", "tool_calls"];

    /// <summary>Characters of a meter name after its first (a lowercase ASCII letter), besides lowercase letters and digits.</summary>
    public const string NamePunctuation = "_.";

    public static Failure? Name(string name, string field = "meter")
    {
        if (name.Length is 0 or > Limits.MaxMeterNameLength)
            return Failure.Invalid($"{field} must be 1 to {Limits.MaxMeterNameLength} characters");
        if (!char.IsAsciiLetterLower(name[0]))
            return Failure.Invalid($"{field} '{ScopeIds.Truncate(name)}' must start with a lowercase ASCII letter (as gpu_seconds)");
        foreach (var c in name)
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && !NamePunctuation.Contains(c, StringComparison.Ordinal))
                return Failure.Invalid($"{field} '{ScopeIds.Truncate(name)}' contains '{Printable(c)}': use lowercase ASCII letters, digits, _ and .");
        return null;
    }

    /// <summary>Checks a meter to store. An empty as_of is allowed here: the catalog grain fills in today.</summary>
    public static Failure? Validate(CatalogMeter meter, string field = "meter")
    {
        if (Name(meter.Name, field + ".name") is { } badName) return badName;
        var unit = meter.Unit;
        if (unit.Length is 0 or > Limits.MaxMeterUnitLength || unit[0] == ' ' || unit[^1] == ' ' || unit.Any(c => c is < ' ' or > '~'))
            return Failure.Invalid($"{field} {meter.Name}: unit must be 1 to {Limits.MaxMeterUnitLength} printable ASCII characters (as second, GB-hour, query)");
        if (meter.PriceNanos is < 0 or > Limits.MaxMeterPriceNanos)
            return Failure.Invalid($"{field} {meter.Name}: price_nanos is {meter.PriceNanos}; it must be between 0 and {Limits.MaxMeterPriceNanos}");
        if (meter.PerUnits is < 1 or > Limits.MaxMeterPerUnits)
            return Failure.Invalid($"{field} {meter.Name}: per_units is {meter.PerUnits}; it must be between 1 and {Limits.MaxMeterPerUnits} (0 or left out = 1)");
        if (meter.AsOf.Length > 0 && !PriceRules.IsDate(meter.AsOf))
            return Failure.Invalid($"{field} {meter.Name}: as_of '{ScopeIds.Truncate(meter.AsOf)}' is not a date written {PriceRules.DateFormat}, such as 2026-12-01");
        return null;
    }

    /// <summary>The meter quantities of one call: each meter named once, well-formed, within the per-call limits.</summary>
    public static Failure? Quantities(IReadOnlyList<MeterQuantity> meters, string field)
    {
        if (meters.Count > Limits.MaxMetersPerCall)
            return Failure.Invalid($"{field} has {meters.Count} entries; the limit is {Limits.MaxMetersPerCall}");
        for (var i = 0; i < meters.Count; i++)
        {
            if (Name(meters[i].Meter, $"{field}[{i}].meter") is { } badName) return badName;
            if (meters[i].Quantity is < 0 or > Limits.MaxMeterQuantityPerCall)
                return Failure.Invalid($"{field}[{i}].quantity of {meters[i].Meter} must be between 0 and {Limits.MaxMeterQuantityPerCall}");
            for (var j = 0; j < i; j++)
                if (meters[j].Meter == meters[i].Meter)
                    return Failure.Invalid($"{field}[{i}]: meter {meters[i].Meter} is also {field}[{j}]; give each meter once");
        }
        return null;
    }

    private static string Printable(char c) => char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : c.ToString();
}
