using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;
using static BudgetGrains.Server.Services.PriceMapping;

namespace BudgetGrains.Server.Services;

/// <summary>The price rpcs of budget.v1.Management.</summary>
internal sealed partial class ManagementService
{
    public override async Task<V1.ModelPrice> UpsertPrice(V1.UpsertPriceRequest request, ServerCallContext context) =>
        ToProto(Unwrap(await prices.UpsertAsync(ToCatalogPrice(request.Price ?? new V1.ModelPrice()))));

    public override async Task<V1.ImportPricesResponse> ImportPrices(V1.ImportPricesRequest request, ServerCallContext context)
    {
        var stored = Unwrap(await prices.ImportAsync([.. request.Prices.Select(ToCatalogPrice)]));
        return new V1.ImportPricesResponse { Imported = stored.Prices.Count, Added = stored.Added };
    }

    public override Task<V1.ListPricesResponse> ListPrices(V1.ListPricesRequest request, ServerCallContext context)
    {
        var page = Unwrap(prices.List(request.ModelPrefix, request.PageSize, request.PageToken));
        var response = new V1.ListPricesResponse { NextPageToken = page.NextPageToken };
        response.Prices.AddRange(page.Prices.Select(ToProto));
        return Task.FromResult(response);
    }

    public override async Task<V1.DeletePriceResponse> DeletePrice(V1.DeletePriceRequest request, ServerCallContext context) =>
        new() { Deleted = Unwrap(await prices.DeleteAsync(request.Model)).Deleted };
}
