using BudgetGrains.Server.Exports;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>The export rpcs of budget.v1.Management: ExportLedger, ExportUsage (server streams).</summary>
internal sealed partial class ManagementService
{
    /// <summary>The store's ledger in pages; set by the silo when it builds the service.</summary>
    public LedgerExports Exports { get; init; } = null!;

    public override Task ExportLedger(V1.ExportLedgerRequest request, IServerStreamWriter<V1.ExportChunk> responseStream, ServerCallContext context) =>
        Exports.ExportLedgerAsync(request, responseStream, context.CancellationToken);

    public override Task ExportUsage(V1.ExportUsageRequest request, IServerStreamWriter<V1.ExportChunk> responseStream, ServerCallContext context) =>
        Exports.ExportUsageAsync(request, responseStream, context.CancellationToken);
}
