using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Scopes;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;

namespace BudgetGrains.Server.Services;

/// <summary>
/// budget.v1.Management: budgets, periods, usage and task policies here; prices and alerts in the other parts of the
/// class (ManagementService.Prices.cs, ManagementService.Alerts.cs).
/// </summary>
[BindServiceMethod(typeof(ManagementService), nameof(Bind))]
internal sealed partial class ManagementService(BudgetAdministration budgets, PriceAdministration prices, AlertAdministration alerts)
    : V1.Management.ManagementBase
{
    public static void Bind(ServiceBinderBase binder, V1.Management.ManagementBase? service) => V1.Management.BindService(new StrictRequestParsing(binder), service);

    public override async Task<V1.BudgetStatus> UpsertBudget(V1.UpsertBudgetRequest request, ServerCallContext context) =>
        ToStatus(Unwrap(await budgets.UpsertAsync(ToUpdate(request))));

    public override async Task<V1.TenantSettings> SetTenantSettings(V1.SetTenantSettingsRequest request, ServerCallContext context) =>
        ToProto(Unwrap(await budgets.SetTenantSettingsAsync(request.Tenant, (Grains.Settings.UnknownScopesMode)request.UnknownScopes)));

    public override async Task<V1.TenantSettings> GetTenantSettings(V1.GetTenantSettingsRequest request, ServerCallContext context) =>
        ToProto(Unwrap(await budgets.GetTenantSettingsAsync(request.Tenant)));

    public override async Task<V1.BudgetStatus> GetBudget(V1.GetBudgetRequest request, ServerCallContext context) =>
        ToStatus(Unwrap(await budgets.GetAsync(request.Scope)));

    public override async Task<V1.ListBudgetsResponse> ListBudgets(V1.ListBudgetsRequest request, ServerCallContext context)
    {
        var page = Unwrap(await budgets.ListAsync(request.ScopePrefix, request.PageSize, request.PageToken, context.CancellationToken));
        var response = new V1.ListBudgetsResponse { NextPageToken = page.NextPageToken };
        response.Budgets.AddRange(page.Budgets.Select(ToStatus));
        return response;
    }

    public override async Task<V1.TaskPolicyStatus> SetTaskPolicy(V1.SetTaskPolicyRequest request, ServerCallContext context) =>
        ToPolicyStatus(request.Scope, Unwrap(await budgets.SetTaskPolicyAsync(request.Scope, ToPolicy(request.Policy))));

    public override async Task<V1.TaskPolicyStatus> GetTaskPolicy(V1.GetTaskPolicyRequest request, ServerCallContext context) =>
        ToPolicyStatus(request.Scope, Unwrap(await budgets.GetTaskPolicyAsync(request.Scope)));

    public override async Task<V1.EndTaskResponse> EndTask(V1.EndTaskRequest request, ServerCallContext context)
    {
        var ended = Unwrap(await budgets.EndTaskAsync(request.Scope, request.Outcome));
        return new() { ReleasedHolds = ended.ReleasedHolds, Outcome = ended.Outcome };
    }

    public override async Task<V1.DeleteBudgetResponse> DeleteBudget(V1.DeleteBudgetRequest request, ServerCallContext context) =>
        new() { Deleted = Unwrap(await budgets.DeleteAsync(request.Scope)).Deleted };

    public override async Task<V1.BudgetStatus> FreezeBudget(V1.FreezeBudgetRequest request, ServerCallContext context) =>
        ToStatus(Unwrap(await budgets.SetFrozenAsync(request.Scope, frozen: true)));

    public override async Task<V1.BudgetStatus> UnfreezeBudget(V1.FreezeBudgetRequest request, ServerCallContext context) =>
        ToStatus(Unwrap(await budgets.SetFrozenAsync(request.Scope, frozen: false)));

    public override async Task<V1.BudgetStatus> ResetBudget(V1.ResetBudgetRequest request, ServerCallContext context) =>
        ToStatus(Unwrap(await budgets.ResetAsync(request.Scope)));

    public override async Task<V1.ListPeriodsResponse> ListPeriods(V1.ListPeriodsRequest request, ServerCallContext context)
    {
        var page = Unwrap(await budgets.ListPeriodsAsync(request.Scope, request.PageSize, request.PageToken, context.CancellationToken));
        var response = new V1.ListPeriodsResponse { NextPageToken = page.NextPageToken };
        response.Periods.AddRange(page.Periods.Select(ToPeriod));
        return response;
    }

    public override async Task<V1.UsageReport> GetUsage(V1.GetUsageRequest request, ServerCallContext context) =>
        ToReport(Unwrap(await budgets.GetUsageAsync(request.Scope, request.Closed, request.PeriodStartUnixMs, request.GroupBy,
            request.PageSize, request.PageToken, context.CancellationToken)));
}
