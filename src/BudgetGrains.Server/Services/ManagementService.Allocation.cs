using BudgetGrains.Server.Allocation;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>The shared-cost allocation rpcs of budget.v1.Management: ImportSharedCosts, GetAllocation.</summary>
internal sealed partial class ManagementService
{
    /// <summary>Shared costs and their allocation; set by the silo when it builds the service.</summary>
    public Allocations Allocations { get; init; } = null!;

    public override Task<V1.ImportSharedCostsResponse> ImportSharedCosts(V1.ImportSharedCostsRequest request, ServerCallContext context) =>
        Allocations.ImportAsync(request, context.CancellationToken);

    public override Task<V1.AllocationReport> GetAllocation(V1.GetAllocationRequest request, ServerCallContext context) =>
        Allocations.GetAsync(request, context.CancellationToken);
}
