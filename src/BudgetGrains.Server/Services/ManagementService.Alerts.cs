using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;

namespace BudgetGrains.Server.Services;

/// <summary>The alert rpcs of budget.v1.Management: ListAlerts, AckAlert.</summary>
internal sealed partial class ManagementService
{
    public override async Task<V1.ListAlertsResponse> ListAlerts(V1.ListAlertsRequest request, ServerCallContext context)
    {
        var page = Unwrap(await alerts.ListAsync(request.ScopePrefix, request.UnacknowledgedOnly, request.PageSize, request.PageToken,
            context.CancellationToken));
        var response = new V1.ListAlertsResponse { NextPageToken = page.NextPageToken };
        response.Alerts.AddRange(page.Alerts.Select(AlertMapping.ToProto));
        return response;
    }

    public override async Task<V1.Alert> AckAlert(V1.AckAlertRequest request, ServerCallContext context) =>
        AlertMapping.ToProto(Unwrap(await alerts.AcknowledgeAsync(request.Id, request.By)));
}
