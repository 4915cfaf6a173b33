using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Prices;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>The mapping between wire prices and the catalog's (the price rpcs and the price file).</summary>
internal static class PriceMapping
{
    /// <summary>The wire price as the catalog takes it; its source is output only, so it is not read. Cached input and
    /// reasoning prices left out (0: proto3 without field presence, decision 0022) are completed by <see cref="PriceRules.Complete"/> (input and output prices).</summary>
    public static CatalogPrice ToCatalogPrice(V1.ModelPrice p) => new(
        p.Model,
        PriceRules.Complete(p.InputNanosPerToken, p.CachedInputNanosPerToken == 0 ? null : p.CachedInputNanosPerToken,
            p.OutputNanosPerToken, p.ReasoningNanosPerToken == 0 ? null : p.ReasoningNanosPerToken),
        p.AsOf,
        PriceSource.Api);

    public static V1.ModelPrice ToProto(CatalogPrice p) => new()
    {
        Model = p.Model,
        InputNanosPerToken = p.Price.InputNanos,
        CachedInputNanosPerToken = p.Price.CachedInputNanos,
        OutputNanosPerToken = p.Price.OutputNanos,
        ReasoningNanosPerToken = p.Price.ReasoningNanos,
        AsOf = p.AsOf,
        Source = PriceSources.Name(p.Source),
    };
}
