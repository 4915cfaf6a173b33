namespace BudgetGrains.Grains.Admission;

/// <summary>Prices of one model in nanos per token (e.g. $2.50 / 1M tokens = 2,500).</summary>
public sealed record ModelPrice(long InputNanos, long CachedInputNanos, long OutputNanos, long ReasoningNanos);

/// <summary>
/// Model → price. A model with no price is never charged $0: reserves are denied UNKNOWN_PRICE
/// and commits refused, unless a fallback price is configured. Managed through the API in a later
/// issue; today it is loaded from configuration.
/// </summary>
public sealed class PriceCatalog(IReadOnlyDictionary<string, ModelPrice> prices, ModelPrice? fallback = null)
{
    public static readonly PriceCatalog Empty = new(new Dictionary<string, ModelPrice>());

    /// <summary>The cost of <paramref name="usage"/>, or false when the model has no price (or the product overflows).</summary>
    public bool TryPrice(TokenCounts usage, out long nanos)
    {
        nanos = 0;
        if (!prices.TryGetValue(usage.Model, out var price) && (price = fallback) is null) return false;
        try
        {
            nanos = checked(usage.InputTokens * price.InputNanos
                + usage.CachedInputTokens * price.CachedInputNanos
                + usage.OutputTokens * price.OutputNanos
                + usage.ReasoningTokens * price.ReasoningNanos);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }
}
