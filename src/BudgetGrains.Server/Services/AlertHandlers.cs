using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grpc;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;

namespace BudgetGrains.Server.Services;

/// <summary>The alert methods of budget.v1.Management: ListAlerts, AckAlert.</summary>
internal static class AlertHandlers
{
    public static GrpcServiceBuilder WithAlerts(this GrpcServiceBuilder builder, AlertAdministration alerts) => builder
        .Unary<V1.ListAlertsRequest, V1.ListAlertsResponse>("ListAlerts", async (request, context) =>
        {
            var page = Unwrap(await alerts.ListAsync(request.ScopePrefix, request.UnacknowledgedOnly, request.PageSize, request.PageToken,
                context.CancellationToken));
            var response = new V1.ListAlertsResponse { NextPageToken = page.NextPageToken };
            response.Alerts.AddRange(page.Alerts.Select(AlertMapping.ToProto));
            return response;
        })
        .Unary<V1.AckAlertRequest, V1.Alert>("AckAlert",
            async (request, _) => AlertMapping.ToProto(Unwrap(await alerts.AcknowledgeAsync(request.Id, request.By))));
}
