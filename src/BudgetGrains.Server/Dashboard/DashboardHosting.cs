using Microsoft.Extensions.FileProviders;

namespace BudgetGrains.Server.Dashboard;

/// <summary>
/// The FinOps dashboard: checked-in static pages (Dashboard/assets: HTML, CSS, plain JS, no build step) copied next to
/// the silo's binaries, served at <c>/</c> and <c>/dashboard/</c>, reading the REST API and <see cref="DashboardReports"/>.
/// </summary>
internal static class DashboardHosting
{
    public static string AssetsDirectory => Path.Combine(AppContext.BaseDirectory, "Dashboard", "assets");

    public static void UseBudgetDashboard(this IApplicationBuilder app)
    {
        var files = new PhysicalFileProvider(AssetsDirectory);
        app.Use(async (context, next) =>
        {
            if (await DashboardReports.TryServeAsync(context)) return;
            if (context.Request.Path == "/" && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
                context.Request.Path = "/dashboard/index.html";
            await next(context);
        });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = "/dashboard",
            OnPrepareResponse = file =>
            {
                file.Context.Response.Headers.CacheControl = "no-cache";
                file.Context.Response.Headers["X-Content-Type-Options"] = "nosniff";
                file.Context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
            },
        });
    }
}
