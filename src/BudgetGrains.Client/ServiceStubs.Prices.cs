using BudgetGrains.Contracts.V1;
using BudgetGrains.Grpc;
using Google.Protobuf.Reflection;

namespace BudgetGrains.Client.Protocol;

/// <summary>The price catalog rpcs of budget.v1.Management.</summary>
public sealed partial class ManagementClient
{
    // Its own descriptor: the order of static initializers across the files of a partial class is not defined.
    private static readonly ServiceDescriptor PriceService = ManagementReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Management");
    private static readonly GrpcMethod<UpsertPriceRequest, ModelPrice> UpsertPriceMethod = GrpcMethod<UpsertPriceRequest, ModelPrice>.From(PriceService, "UpsertPrice");
    private static readonly GrpcMethod<ImportPricesRequest, ImportPricesResponse> ImportPricesMethod = GrpcMethod<ImportPricesRequest, ImportPricesResponse>.From(PriceService, "ImportPrices");
    private static readonly GrpcMethod<ListPricesRequest, ListPricesResponse> ListPricesMethod = GrpcMethod<ListPricesRequest, ListPricesResponse>.From(PriceService, "ListPrices");
    private static readonly GrpcMethod<DeletePriceRequest, DeletePriceResponse> DeletePriceMethod = GrpcMethod<DeletePriceRequest, DeletePriceResponse>.From(PriceService, "DeletePrice");

    /// <summary>Create or replace a model's price.</summary>
    public Task<ModelPrice> UpsertPriceAsync(UpsertPriceRequest request, CallOptions options = default) => channel.UnaryAsync(UpsertPriceMethod, request, options);

    /// <summary>Create or replace many models' prices, all or none.</summary>
    public Task<ImportPricesResponse> ImportPricesAsync(ImportPricesRequest request, CallOptions options = default) => channel.UnaryAsync(ImportPricesMethod, request, options);

    /// <summary>A page of prices in model order.</summary>
    public Task<ListPricesResponse> ListPricesAsync(ListPricesRequest request, CallOptions options = default) => channel.UnaryAsync(ListPricesMethod, request, options);

    /// <summary>Remove a model's price.</summary>
    public Task<DeletePriceResponse> DeletePriceAsync(DeletePriceRequest request, CallOptions options = default) => channel.UnaryAsync(DeletePriceMethod, request, options);
}
