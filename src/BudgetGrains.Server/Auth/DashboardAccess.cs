using BudgetGrains.Server.Dashboard;
using BudgetGrains.Server.Rest;
using Grpc.Core;

namespace BudgetGrains.Server.Auth;

/// <summary>
/// Keys for the HTTP routes that are not rpcs: the dashboard's reports span every tenant, so they need an admin key or
/// a viewer key of no tenant; the Orleans dashboard needs an admin key. The dashboard's pages themselves hold no data
/// and stay open. A key comes as <c>authorization: Bearer</c> or as the sign-in cookie (<see cref="DashboardSession"/>);
/// a browser that opens the Orleans dashboard without one is sent to the sign-in page. With auth off, everything is
/// open, as the rpcs are.
/// </summary>
internal static class DashboardAccess
{
    public const string OrleansPath = "/orleans";

    public static void UseDashboardAccess(this IApplicationBuilder app, AccessInterceptor access) => app.Use(async (context, next) =>
    {
        var path = context.Request.Path;
        var kind = path.StartsWithSegments(DashboardReports.Root) ? AccessKind.Read
            : path.StartsWithSegments(OrleansPath) ? AccessKind.AdminRead
            : (AccessKind?)null;
        if (kind is { } needed)
        {
            try
            {
                var caller = access.AuthenticateHttp(context, needed);
                if (caller.IsTenant)
                    throw AgentTenancy.Denied($"the reports cover every tenant; a key of tenant {caller.Tenant} may not read them");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated && needed == AccessKind.AdminRead && WantsPage(context.Request))
            {
                context.Response.Redirect($"/dashboard/sign-in.html?return={Uri.EscapeDataString(path.Value + context.Request.QueryString)}");
                return;
            }
            catch (RpcException e)
            {
                await RestErrors.WriteAsync(context.Response, RestErrors.HttpStatusOf(e.StatusCode), e.StatusCode, e.Status.Detail);
                return;
            }
        }
        await next(context);
    });

    /// <summary>A browser navigating (not a script's fetch): it asks for HTML.</summary>
    private static bool WantsPage(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
