using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grpc;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;

namespace BudgetGrains.Server.Services;

/// <summary>The budget.v1 services, bound method by method to the descriptors generated from protos/.</summary>
internal static class GrpcServices
{
    public static GrpcService Admission(AdmissionApi admission, BudgetWatchHub watch) =>
        GrpcServiceBuilder.For(V1.AdmissionReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Admission"))
            .Unary<V1.ReserveRequest, V1.ReserveResponse>("Reserve",
                async (request, context) => StatusMarks.Stamp(context, ToResponse(Unwrap(await admission.ReserveAsync(ToCommand(request))))))
            .Unary<V1.CommitRequest, V1.CommitResponse>("Commit",
                async (request, context) => StatusMarks.Stamp(context, ToResponse(Unwrap(await admission.CommitAsync(ToCommand(request))))))
            .Unary<V1.ReleaseRequest, V1.ReleaseResponse>("Release",
                async (request, _) => new V1.ReleaseResponse { Released = Unwrap(await admission.ReleaseAsync(request.ReservationId)).Released })
            .Unary<V1.CheckRequest, V1.CheckResponse>("Check",
                async (request, _) => ToResponse(Unwrap(await admission.CheckAsync(ToCommand(request)))))
            .WithBudgetWatch(watch)
            .Build();

    public static GrpcService Management(BudgetAdministration budgets, PriceAdministration prices, AlertAdministration alerts) =>
        GrpcServiceBuilder.For(V1.ManagementReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Management"))
            .Unary<V1.UpsertBudgetRequest, V1.BudgetStatus>("UpsertBudget",
                async (request, _) => ToStatus(Unwrap(await budgets.UpsertAsync(ToSettings(request)))))
            .Unary<V1.GetBudgetRequest, V1.BudgetStatus>("GetBudget",
                async (request, _) => ToStatus(Unwrap(await budgets.GetAsync(request.Scope))))
            .Unary<V1.ListBudgetsRequest, V1.ListBudgetsResponse>("ListBudgets", async (request, context) =>
            {
                var page = Unwrap(await budgets.ListAsync(request.ScopePrefix, request.PageSize, request.PageToken, context.CancellationToken));
                var response = new V1.ListBudgetsResponse { NextPageToken = page.NextPageToken };
                response.Budgets.AddRange(page.Budgets.Select(ToStatus));
                return response;
            })
            .Unary<V1.SetTaskPolicyRequest, V1.TaskPolicyStatus>("SetTaskPolicy",
                async (request, _) => ToPolicyStatus(request.Scope, Unwrap(await budgets.SetTaskPolicyAsync(request.Scope, ToPolicy(request.Policy)))))
            .Unary<V1.GetTaskPolicyRequest, V1.TaskPolicyStatus>("GetTaskPolicy",
                async (request, _) => ToPolicyStatus(request.Scope, Unwrap(await budgets.GetTaskPolicyAsync(request.Scope))))
            .Unary<V1.EndTaskRequest, V1.EndTaskResponse>("EndTask",
                async (request, _) => new V1.EndTaskResponse { ReleasedHolds = Unwrap(await budgets.EndTaskAsync(request.Scope)).ReleasedHolds })
            .Unary<V1.DeleteBudgetRequest, V1.DeleteBudgetResponse>("DeleteBudget",
                async (request, _) => new V1.DeleteBudgetResponse { Deleted = Unwrap(await budgets.DeleteAsync(request.Scope)).Deleted })
            .Unary<V1.FreezeBudgetRequest, V1.BudgetStatus>("FreezeBudget",
                async (request, _) => ToStatus(Unwrap(await budgets.SetFrozenAsync(request.Scope, frozen: true))))
            .Unary<V1.FreezeBudgetRequest, V1.BudgetStatus>("UnfreezeBudget",
                async (request, _) => ToStatus(Unwrap(await budgets.SetFrozenAsync(request.Scope, frozen: false))))
            .Unary<V1.ResetBudgetRequest, V1.BudgetStatus>("ResetBudget",
                async (request, _) => ToStatus(Unwrap(await budgets.ResetAsync(request.Scope))))
            .Unary<V1.ListPeriodsRequest, V1.ListPeriodsResponse>("ListPeriods", async (request, context) =>
            {
                var page = Unwrap(await budgets.ListPeriodsAsync(request.Scope, request.PageSize, request.PageToken, context.CancellationToken));
                var response = new V1.ListPeriodsResponse { NextPageToken = page.NextPageToken };
                response.Periods.AddRange(page.Periods.Select(ToPeriod));
                return response;
            })
            .Unary<V1.GetUsageRequest, V1.UsageReport>("GetUsage", async (request, context) => ToReport(Unwrap(await budgets.GetUsageAsync(
                request.Scope, request.Closed, request.PeriodStartUnixMs, request.GroupBy, request.PageSize, request.PageToken, context.CancellationToken))))
            .WithPrices(prices)
            .WithAlerts(alerts)
            .Build();
}
