using System.Diagnostics;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Server.Observability;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;

namespace BudgetGrains.Server.Services;

/// <summary>budget.v1.Admission: the data plane (Reserve, Commit, Release, Check) and the status stream of the SDK's pre-check.
/// Each unary call is measured and traced (<see cref="AdmissionTelemetry"/>) and counted for the dashboard's live view.</summary>
[BindServiceMethod(typeof(AdmissionService), nameof(Bind))]
internal sealed class AdmissionService(AdmissionApi admission, BudgetWatchHub watch, LiveRates live) : V1.Admission.AdmissionBase
{
    public static void Bind(ServiceBinderBase binder, V1.Admission.AdmissionBase? service) => V1.Admission.BindService(new StrictRequestParsing(binder), service);

    public override async Task<V1.ReserveResponse> Reserve(V1.ReserveRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = AdmissionTelemetry.Start(AdmissionRpc.Reserve, context);
        AdmissionTelemetry.Reserving(span, request);
        try
        {
            var response = StatusMarks.Stamp(context, ToResponse(Unwrap(await admission.ReserveAsync(ToCommand(request)))));
            AdmissionTelemetry.Decided(AdmissionRpc.Reserve, span, response.Decision, response.Reason, response.DeniedScope, started);
            live.Decided(response.Decision == V1.Decision.Admitted);
            return response;
        }
        catch (RpcException e)
        {
            AdmissionTelemetry.Failed(AdmissionRpc.Reserve, span, started, e);
            throw;
        }
    }

    public override async Task<V1.CommitResponse> Commit(V1.CommitRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = AdmissionTelemetry.Start(AdmissionRpc.Commit, context);
        AdmissionTelemetry.Committing(span, request);
        try
        {
            var response = StatusMarks.Stamp(context, ToResponse(Unwrap(await admission.CommitAsync(ToCommand(request)))));
            AdmissionTelemetry.Done(AdmissionRpc.Commit, span, started, response.ChargedNanos);
            live.Committed(response.ChargedNanos);
            return response;
        }
        catch (RpcException e)
        {
            AdmissionTelemetry.Failed(AdmissionRpc.Commit, span, started, e);
            throw;
        }
    }

    public override async Task<V1.ReleaseResponse> Release(V1.ReleaseRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = AdmissionTelemetry.Start(AdmissionRpc.Release, context);
        span?.SetTag("budget.reservation_id", request.ReservationId);
        try
        {
            var response = new V1.ReleaseResponse { Released = Unwrap(await admission.ReleaseAsync(request.ReservationId)).Released };
            AdmissionTelemetry.Done(AdmissionRpc.Release, span, started);
            return response;
        }
        catch (RpcException e)
        {
            AdmissionTelemetry.Failed(AdmissionRpc.Release, span, started, e);
            throw;
        }
    }

    public override async Task<V1.CheckResponse> Check(V1.CheckRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = AdmissionTelemetry.Start(AdmissionRpc.Check, context);
        AdmissionTelemetry.Checking(span, request);
        try
        {
            var response = ToResponse(Unwrap(await admission.CheckAsync(ToCommand(request))));
            AdmissionTelemetry.Decided(AdmissionRpc.Check, span, response.Decision, response.Reason, response.DeniedScope, started);
            return response;
        }
        catch (RpcException e)
        {
            AdmissionTelemetry.Failed(AdmissionRpc.Check, span, started, e);
            throw;
        }
    }

    public override async Task WatchBudgets(V1.WatchBudgetsRequest request, IServerStreamWriter<V1.BudgetWatchUpdate> responseStream,
        ServerCallContext context)
    {
        var attribution = ToAttribution(request.Attribution);
        if (RequestValidation.Watch(attribution, request.Scopes) is { } invalid)
            throw new RpcException(new Status(StatusCode.InvalidArgument, invalid.Message));
        var named = attribution.NamedScopes();
        named.AddRange(request.Scopes);

        using var watcher = watch.Join(named);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, watch.Stopping);
        try
        {
            while (true)
            {
                if (await watcher.NextAsync(call.Token) is { } update) await responseStream.WriteAsync(update, call.Token);
            }
        }
        catch (OperationCanceledException) when (watch.Stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the silo is stopping; reconnect"));
        }
    }
}
