using System.Globalization;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Prices;

/// <summary>Where a price came from; decides which one applies when a model has several (docs/decisions/0010).</summary>
[GenerateSerializer]
public enum PriceSource
{
    /// <summary>The default price file shipped with the server, loaded into the store.</summary>
    Default,

    /// <summary>The silo's configuration (BudgetGrains:Prices); not stored, read at each start.</summary>
    Config,

    /// <summary>Set by an administrator through the Management API (or budgetctl); stored.</summary>
    Api,
}

/// <summary>One model's price with its provenance: the date it was taken from the provider's list and its source.</summary>
/// <param name="AsOf">An ISO date, "2025-08-07"; empty only for configuration prices, which carry no date.</param>
[GenerateSerializer, Immutable]
public sealed record CatalogPrice(string Model, ModelPrice Price, string AsOf, PriceSource Source);

/// <summary>The names of <see cref="PriceSource"/> on the wire and in the store.</summary>
public static class PriceSources
{
    public static string Name(PriceSource source) => source switch
    {
        PriceSource.Default => "default",
        PriceSource.Config => "config",
        PriceSource.Api => "api",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "not a price source"),
    };

    public static PriceSource Parse(string name) => name switch
    {
        "default" => PriceSource.Default,
        "config" => PriceSource.Config,
        "api" => PriceSource.Api,
        _ => throw new FormatException($"'{name}' is not a price source (default, config, api)"),
    };
}

/// <summary>The input rules every price obeys, whichever way it arrives (API, default file, configuration).</summary>
public static class PriceRules
{
    /// <summary>The format of <see cref="CatalogPrice.AsOf"/>.</summary>
    public const string DateFormat = "yyyy-MM-dd";

    /// <summary>Characters of a model name besides ASCII letters and digits: enough for "gpt-4o-2024-08-06",
    /// "models/gemini-2.5-pro", "anthropic.claude-3-5-sonnet-20241022-v2:0" or "org/model@v1+fp8".</summary>
    public const string ModelPunctuation = "-._:/@+";

    /// <summary>
    /// The one rule for prices left out, whichever way a price arrives (UpsertPrice, ImportPrices and so budgetctl's
    /// prices set and prices import, the default file, configuration): cached input costs the input price, reasoning
    /// the output price (how providers bill them), so a price left out never means $0. On the wire a price left out
    /// reads as 0 (no field presence, decision 0022), so a cached or reasoning price of 0 takes the input or output price.
    /// </summary>
    public static ModelPrice Complete(long inputNanos, long? cachedInputNanos, long outputNanos, long? reasoningNanos) =>
        new(inputNanos, cachedInputNanos ?? inputNanos, outputNanos, reasoningNanos ?? outputNanos);

    public static Failure? Model(string model, string field = "model")
    {
        if (model.Length is 0 or > Limits.MaxModelNameLength)
            return Failure.Invalid($"{field} must be 1 to {Limits.MaxModelNameLength} characters");
        foreach (var c in model)
            if (!char.IsAsciiLetterOrDigit(c) && !ModelPunctuation.Contains(c, StringComparison.Ordinal))
                return Failure.Invalid($"{field} '{ScopeIds.Truncate(model)}' contains '{Printable(c)}': use ASCII letters, digits and {ModelPunctuation}");
        return null;
    }

    /// <summary>Checks a price to store. An empty <see cref="CatalogPrice.AsOf"/> is allowed here: the caller fills it in.</summary>
    public static Failure? Validate(CatalogPrice price, string field = "price")
    {
        if (Model(price.Model, field + ".model") is { } badModel) return badModel;
        var p = price.Price;
        foreach (var (name, nanos) in (ReadOnlySpan<(string, long)>)[("input", p.InputNanos), ("cached_input", p.CachedInputNanos),
                     ("output", p.OutputNanos), ("reasoning", p.ReasoningNanos)])
        {
            if (nanos is < 0 or > Limits.MaxPriceNanosPerToken)
                return Failure.Invalid($"{field} of {price.Model}: {name}_nanos_per_token is {nanos}; it must be between 0 and " +
                    $"{Limits.MaxPriceNanosPerToken} (${Limits.MaxPriceNanosPerToken / 1000} per 1M tokens)");
        }
        if (price.AsOf.Length > 0 && !IsDate(price.AsOf))
            return Failure.Invalid($"{field} of {price.Model}: as_of '{ScopeIds.Truncate(price.AsOf)}' is not a date written {DateFormat}, such as 2025-08-07");
        return null;
    }

    public static bool IsDate(string text) =>
        text.Length == DateFormat.Length && DateOnly.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    public static string Date(DateTimeOffset time) => DateOnly.FromDateTime(time.UtcDateTime).ToString(DateFormat, CultureInfo.InvariantCulture);

    private static string Printable(char c) => char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : c.ToString();
}
