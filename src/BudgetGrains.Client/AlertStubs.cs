using BudgetGrains.Contracts.V1;
using BudgetGrains.Grpc;
using Google.Protobuf.Reflection;

namespace BudgetGrains.Client.Protocol;

/// <summary>The alert rpcs of budget.v1.Management.</summary>
public sealed partial class ManagementClient
{
    // Not the other part's Service field: the order static fields of partial parts initialize in is unspecified.
    private static readonly ServiceDescriptor AlertsPart = ManagementReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Management");
    private static readonly GrpcMethod<ListAlertsRequest, ListAlertsResponse> ListAlertsMethod = GrpcMethod<ListAlertsRequest, ListAlertsResponse>.From(AlertsPart, "ListAlerts");
    private static readonly GrpcMethod<AckAlertRequest, Alert> AckAlertMethod = GrpcMethod<AckAlertRequest, Alert>.From(AlertsPart, "AckAlert");

    /// <summary>A page of alerts, newest first.</summary>
    public Task<ListAlertsResponse> ListAlertsAsync(ListAlertsRequest request, CallOptions options = default) => channel.UnaryAsync(ListAlertsMethod, request, options);

    /// <summary>Acknowledge an alert (idempotent: the first acknowledgement is kept).</summary>
    public Task<Alert> AckAlertAsync(AckAlertRequest request, CallOptions options = default) => channel.UnaryAsync(AckAlertMethod, request, options);
}

/// <summary>Stubs of budget.v1.Alerts.</summary>
public sealed class AlertsClient(GrpcChannel channel)
{
    private static readonly ServiceDescriptor Service = AlertsReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Alerts");
    private static readonly GrpcMethod<WatchAlertsRequest, Alert> WatchMethod = GrpcMethod<WatchAlertsRequest, Alert>.From(Service, "WatchAlerts");

    /// <summary>Alerts as they are persisted: those after <c>after_id</c> first, then live ones until the enumeration stops
    /// (or <see cref="CallOptions.CancellationToken"/> is cancelled).</summary>
    public IAsyncEnumerable<Alert> WatchAlertsAsync(WatchAlertsRequest request, CallOptions options = default) => channel.ServerStreamingAsync(WatchMethod, request, options);
}
