using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grpc;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;

namespace BudgetGrains.Server.Services;

/// <summary>The price rpcs of budget.v1.Management, and the mapping between wire prices and the catalog's.</summary>
internal static class PriceHandlers
{
    public static GrpcServiceBuilder WithPrices(this GrpcServiceBuilder builder, PriceAdministration prices) => builder
        .Unary<V1.UpsertPriceRequest, V1.ModelPrice>("UpsertPrice",
            async (request, _) => ToProto(Unwrap(await prices.UpsertAsync(ToCatalogPrice(request.Price ?? new V1.ModelPrice())))))
        .Unary<V1.ImportPricesRequest, V1.ImportPricesResponse>("ImportPrices", async (request, _) =>
        {
            var stored = Unwrap(await prices.ImportAsync([.. request.Prices.Select(ToCatalogPrice)]));
            return new V1.ImportPricesResponse { Imported = stored.Prices.Count, Added = stored.Added };
        })
        .Unary<V1.ListPricesRequest, V1.ListPricesResponse>("ListPrices", (request, _) =>
        {
            var page = Unwrap(prices.List(request.ModelPrefix, request.PageSize, request.PageToken));
            var response = new V1.ListPricesResponse { NextPageToken = page.NextPageToken };
            response.Prices.AddRange(page.Prices.Select(ToProto));
            return Task.FromResult(response);
        })
        .Unary<V1.DeletePriceRequest, V1.DeletePriceResponse>("DeletePrice",
            async (request, _) => new V1.DeletePriceResponse { Deleted = Unwrap(await prices.DeleteAsync(request.Model)).Deleted });

    /// <summary>The wire price as the catalog takes it; its source is output only, so it is not read.</summary>
    public static CatalogPrice ToCatalogPrice(V1.ModelPrice p) => new(
        p.Model,
        new ModelPrice(p.InputNanosPerToken, p.CachedInputNanosPerToken, p.OutputNanosPerToken, p.ReasoningNanosPerToken),
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
