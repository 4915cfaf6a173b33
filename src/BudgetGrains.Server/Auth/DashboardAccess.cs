using BudgetGrains.Server.Dashboard;
using BudgetGrains.Server.Rest;
using Grpc.Core;

namespace BudgetGrains.Server.Auth;

/// <summary>
/// Keys for the HTTP routes that are not rpcs: the dashboard's reports span every tenant, so they need an admin key or
/// a viewer key of no tenant; the Orleans dashboard needs an admin key. The dashboard's pages themselves hold no data
/// and stay open (they ask for a key and send it with every call). With auth off, everything is open, as the rpcs are.
/// </summary>
internal static class DashboardAccess
{
    public static void UseDashboardAccess(this IApplicationBuilder app, AccessInterceptor access) => app.Use(async (context, next) =>
    {
        var path = context.Request.Path;
        var kind = path.StartsWithSegments(DashboardReports.Root) ? AccessKind.Read
            : path.StartsWithSegments("/orleans") ? AccessKind.AdminRead
            : (AccessKind?)null;
        if (kind is { } needed)
        {
            try
            {
                var caller = access.AuthenticateHttp(context, needed);
                if (caller.IsTenant)
                    throw AgentTenancy.Denied($"the reports cover every tenant; a key of tenant {caller.Tenant} may not read them");
            }
            catch (RpcException e)
            {
                await RestErrors.WriteAsync(context.Response, RestErrors.HttpStatusOf(e.StatusCode), e.StatusCode, e.Status.Detail);
                return;
            }
        }
        await next(context);
    });
}
