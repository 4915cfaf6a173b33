using BudgetGrains.Server.Reconciliation;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>The reconciliation rpcs of budget.v1.Management: ImportBill, GetReconciliation.</summary>
internal sealed partial class ManagementService
{
    /// <summary>Bills against the ledger; set by the silo when it builds the service.</summary>
    public Reconciliations Reconciliations { get; init; } = null!;

    public override Task<V1.ImportBillResponse> ImportBill(V1.ImportBillRequest request, ServerCallContext context) =>
        Reconciliations.ImportAsync(request, context.CancellationToken);

    public override Task<V1.ReconciliationReport> GetReconciliation(V1.GetReconciliationRequest request, ServerCallContext context) =>
        Reconciliations.GetAsync(request, context.CancellationToken);
}
