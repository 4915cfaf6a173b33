using BudgetGrains.Grains.Admission;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;

namespace BudgetGrains.Server.Services;

/// <summary>budget.v1.Admission: the data plane (Reserve, Commit, Release, Check) and the status stream of the SDK's pre-check.</summary>
[BindServiceMethod(typeof(AdmissionService), nameof(Bind))]
internal sealed class AdmissionService(AdmissionApi admission, BudgetWatchHub watch) : V1.Admission.AdmissionBase
{
    public static void Bind(ServiceBinderBase binder, V1.Admission.AdmissionBase? service) => V1.Admission.BindService(new StrictRequestParsing(binder), service);

    public override async Task<V1.ReserveResponse> Reserve(V1.ReserveRequest request, ServerCallContext context) =>
        StatusMarks.Stamp(context, ToResponse(Unwrap(await admission.ReserveAsync(ToCommand(request)))));

    public override async Task<V1.CommitResponse> Commit(V1.CommitRequest request, ServerCallContext context) =>
        StatusMarks.Stamp(context, ToResponse(Unwrap(await admission.CommitAsync(ToCommand(request)))));

    public override async Task<V1.ReleaseResponse> Release(V1.ReleaseRequest request, ServerCallContext context) =>
        new() { Released = Unwrap(await admission.ReleaseAsync(request.ReservationId)).Released };

    public override async Task<V1.CheckResponse> Check(V1.CheckRequest request, ServerCallContext context) =>
        ToResponse(Unwrap(await admission.CheckAsync(ToCommand(request))));

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
