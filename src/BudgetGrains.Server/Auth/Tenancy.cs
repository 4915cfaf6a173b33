using BudgetGrains.Grains;
using BudgetGrains.Grains.Scopes;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Auth;

/// <summary>
/// Tenant rules of agent keys on the data plane (docs/decisions/0019-tenant-isolation.md). An agent key of tenant A:
/// every attribution must name tenant A (another tenant, or none: PERMISSION_DENIED); its request and reservation ids
/// are A's own: "r-1" is the reservation "A/r-1" inside the silo and "r-1" again in every answer, so an id of
/// tenant B reaches nothing (NOT_FOUND, exactly as an id never used).
/// </summary>
internal static class AgentTenancy
{
    public static void ScopeRequest(Caller caller, object request)
    {
        switch (request)
        {
            case V1.ReserveRequest r:
                RequireTenant(caller, r.Attribution);
                CheckId(r.RequestId, "request_id");
                r.RequestId = Prefix(caller) + r.RequestId;
                break;
            case V1.CommitRequest r:
                CheckId(r.ReservationId, "reservation_id");
                r.ReservationId = Prefix(caller) + r.ReservationId;
                break;
            case V1.ReleaseRequest r:
                CheckId(r.ReservationId, "reservation_id");
                r.ReservationId = Prefix(caller) + r.ReservationId;
                break;
            case V1.CheckRequest r:
                RequireTenant(caller, r.Attribution);
                break;
            case V1.WatchBudgetsRequest r:
                if (r.Attribution is { } a && !a.Equals(new V1.Attribution())) RequireTenant(caller, a);
                foreach (var scope in r.Scopes)
                    if (TenantView.Foreign(caller.Tenant, scope))
                        throw Denied($"this key is limited to tenant {caller.Tenant}; scope '{Short(scope)}' belongs to another tenant");
                break;
            default:
                throw Denied("this key may not make this call");
        }
    }

    /// <summary>The answer as the agent sees it: its own ids, without the tenant prefix.</summary>
    public static void UnscopeResponse(Caller caller, object response)
    {
        if (response is V1.ReserveResponse r && r.ReservationId.StartsWith(Prefix(caller), StringComparison.Ordinal))
            r.ReservationId = r.ReservationId[Prefix(caller).Length..];
    }

    /// <summary>Errors quote ids as 'id': the tenant prefix is taken out of them too.</summary>
    public static RpcException Unscope(Caller caller, RpcException e) =>
        e.Status.Detail.Contains("'" + Prefix(caller), StringComparison.Ordinal)
            ? new RpcException(new Status(e.StatusCode, e.Status.Detail.Replace("'" + Prefix(caller), "'", StringComparison.Ordinal)), e.Trailers)
            : e;

    private static string Prefix(Caller caller) => caller.Tenant + "/";

    private static void RequireTenant(Caller caller, V1.Attribution? attribution)
    {
        var tenant = attribution?.Tenant ?? "";
        if (tenant.Length == 0)
            throw Denied($"this key is limited to tenant {caller.Tenant}: the attribution must name it (attribution.tenant)");
        if (!string.Equals(tenant, caller.Tenant, StringComparison.Ordinal))
            throw Denied($"this key is limited to tenant {caller.Tenant}; the attribution names tenant '{Short(tenant)}'");
    }

    /// <summary>The rules of a request id (required, at most 128 characters, no control characters) on the id as the client gave it.</summary>
    private static void CheckId(string id, string field)
    {
        if (id.Length == 0) throw Invalid($"{field} is required");
        if (id.Length > Limits.MaxRequestIdLength) throw Invalid($"{field} is {id.Length} characters; the limit is {Limits.MaxRequestIdLength}");
        if (id.Any(char.IsControl)) throw Invalid($"{field} contains a control character");
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    internal static RpcException Denied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    internal static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";
}

/// <summary>
/// What a viewer key of tenant T sees (docs/decisions/0019): T's own scopes, <c>tenant/T</c> and its tasks
/// <c>task/T/...</c>, and the shared scopes T's chains reach through parent links from <c>tenant/T</c> (e.g. the cost
/// center the tenant rolls up into), read from the live parent links when the call starts. Features, agents and teams that
/// calls name are shared by every tenant that names them; their totals are other tenants' spend too, so they are not shown.
/// </summary>
internal sealed class TenantView(Func<V1.GetBudgetRequest, ServerCallContext, Task<V1.BudgetStatus>> getBudget)
{
    public static bool Own(string tenant, string scope) =>
        scope == ScopeIds.Of(ScopeIds.Tenant, tenant) || scope.StartsWith($"{ScopeIds.Task}/{tenant}/", StringComparison.Ordinal);

    /// <summary>A scope that belongs to another tenant: tenant/B, or a task that is not T's.</summary>
    public static bool Foreign(string tenant, string scope) =>
        (scope.StartsWith(ScopeIds.Tenant + "/", StringComparison.Ordinal) || scope.StartsWith(ScopeIds.Task + "/", StringComparison.Ordinal))
        && !Own(tenant, scope);

    /// <summary>The visibility rule for one call: own scopes, and the ancestors of tenant/T as they are now.</summary>
    public async Task<Func<string, bool>> VisibleAsync(string tenant, ServerCallContext context)
    {
        var reached = new HashSet<string>(StringComparer.Ordinal);
        var scope = (await getBudget(new V1.GetBudgetRequest { Scope = ScopeIds.Of(ScopeIds.Tenant, tenant) }, context)).Parent;
        while (scope.Length > 0 && reached.Count < Limits.MaxChainLength && reached.Add(scope))
            scope = (await getBudget(new V1.GetBudgetRequest { Scope = scope }, context)).Parent;
        return s => Own(tenant, s) || reached.Contains(s);
    }

    /// <summary>Refuses a read naming a scope the viewer does not see.</summary>
    public async Task CheckAsync(Caller caller, object request, ServerCallContext context)
    {
        // Exports, reconciliations and allocations span every tenant's commits, like the dashboard's reports.
        if (request is V1.ExportLedgerRequest or V1.ExportUsageRequest or V1.GetReconciliationRequest or V1.GetAllocationRequest)
            throw AgentTenancy.Denied($"this call covers every tenant; a key of tenant {caller.Tenant} may not make it");
        // Task reports span tenants unless they name one: a tenant's viewer must name its own.
        if (((request as V1.GetCostPerOutcomeRequest)?.Tenant ?? (request as V1.GetJobReportRequest)?.Tenant) is { } reportTenant
            && reportTenant != caller.Tenant)
            throw AgentTenancy.Denied($"this key sees tenant {caller.Tenant}'s tasks only: set tenant to {caller.Tenant}");
        var scope = request switch
        {
            V1.GetBudgetRequest r => r.Scope,
            V1.GetTaskPolicyRequest r => r.Scope,
            V1.ListPeriodsRequest r => r.Scope,
            V1.GetUsageRequest r => r.Scope,
            V1.GetMeterUsageRequest r => r.Scope,
            V1.GetTenantSettingsRequest r => ScopeIds.Of(ScopeIds.Tenant, r.Tenant),
            _ => null,
        };
        if (scope is null) return;
        if (!(await VisibleAsync(caller.Tenant, context))(scope))
            throw AgentTenancy.Denied($"this key sees tenant {caller.Tenant}'s scopes only (tenant/{caller.Tenant}, task/{caller.Tenant}/..., and the scopes tenant/{caller.Tenant} rolls up into); '{AgentTenancy.Short(scope)}' is not one of them");
    }

    /// <summary>Takes out of a list what the viewer does not see. A page may so be shorter than asked; its token still continues.</summary>
    public async Task FilterAsync(Caller caller, object response, ServerCallContext context)
    {
        switch (response)
        {
            case V1.ListBudgetsResponse r:
                var budgets = await VisibleAsync(caller.Tenant, context);
                Remove(r.Budgets, b => !budgets(b.Scope));
                break;
            case V1.ListAlertsResponse r:
                var alerts = await VisibleAsync(caller.Tenant, context);
                Remove(r.Alerts, a => !alerts(a.Scope));
                break;
            case V1.UsageReport r:
                var rows = await VisibleAsync(caller.Tenant, context);
                Remove(r.Rows, row => ScopeIds.Validate(row.Key) is null && !rows(row.Key));
                break;
        }
    }

    private static void Remove<T>(Google.Protobuf.Collections.RepeatedField<T> items, Func<T, bool> hidden)
    {
        for (var i = items.Count - 1; i >= 0; i--)
            if (hidden(items[i])) items.RemoveAt(i);
    }
}

/// <summary>A stream writer that leaves out what the caller does not see.</summary>
internal sealed class FilteringStreamWriter<T>(IServerStreamWriter<T> inner, Func<T, bool> shown) : IServerStreamWriter<T>
{
    public WriteOptions? WriteOptions
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    public Task WriteAsync(T message) => shown(message) ? inner.WriteAsync(message) : Task.CompletedTask;

    public Task WriteAsync(T message, CancellationToken cancellationToken) =>
        shown(message) ? inner.WriteAsync(message, cancellationToken) : Task.CompletedTask;
}
