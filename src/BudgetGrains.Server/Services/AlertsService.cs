using BudgetGrains.Grains;
using BudgetGrains.Grains.Alerts;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>
/// budget.v1.Alerts: WatchAlerts streams alerts as they are persisted. A stream is a cursor over the alert table (the id
/// of the last alert sent): it replays what follows <c>after_id</c>, then sleeps until an alert is persisted on this
/// silo (or the poll interval passes) and reads on from the cursor, so a client that reconnects with the last id it
/// saw misses nothing.
/// </summary>
[BindServiceMethod(typeof(AlertsService), nameof(Bind))]
internal sealed class AlertsService(IAlertStore store, AlertSignal signal, TimeSpan pollInterval, CancellationToken stopping)
    : V1.Alerts.AlertsBase
{
    public static void Bind(ServiceBinderBase binder, V1.Alerts.AlertsBase? service) => V1.Alerts.BindService(new StrictRequestParsing(binder), service);

    private int _watchers;

    public override async Task WatchAlerts(V1.WatchAlertsRequest request, IServerStreamWriter<V1.Alert> responseStream, ServerCallContext context)
    {
        if (AlertAdministration.ValidatePrefix(request.ScopePrefix) is { } invalid) throw new RpcException(new Status(StatusCode.InvalidArgument, invalid.Message));
        var after = 0L;
        // "0" replays every alert; "" starts from the newest.
        if (request.AfterId.Length > 0 && request.AfterId != "0" && !AlertAdministration.TryParseId(request.AfterId, out after))
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                "after_id must be an alert id (a number such as 42), 0 to replay every alert, or empty for new ones only"));
        if (Interlocked.Increment(ref _watchers) > Limits.MaxAlertWatchers)
        {
            Interlocked.Decrement(ref _watchers);
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{Limits.MaxAlertWatchers} alert streams are open on this silo, its limit; retry later"));
        }
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping);
        var cancellationToken = ending.Token;
        try
        {
            if (request.AfterId.Length == 0) after = await store.LatestIdAsync(cancellationToken);
            while (true)
            {
                var persisted = signal.NextAsync(cancellationToken);
                var alerts = await store.ListAfterAsync(after, request.ScopePrefix, Limits.MaxAlertsPerDeliveryBatch, cancellationToken);
                foreach (var alert in alerts)
                {
                    await responseStream.WriteAsync(AlertMapping.ToProto(alert), cancellationToken);
                    after = alert.Id;
                }
                if (alerts.Count == Limits.MaxAlertsPerDeliveryBatch) continue;
                await Task.WhenAny(persisted, Task.Delay(pollInterval, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away, or the silo stops: the stream ends.
        }
        finally
        {
            Interlocked.Decrement(ref _watchers);
        }
    }
}
