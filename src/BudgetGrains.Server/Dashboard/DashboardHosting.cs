namespace BudgetGrains.Server.Dashboard;

/// <summary>
/// The FinOps dashboard: checked-in static pages (Dashboard/assets: HTML, CSS, plain JS, no build step) copied next to
/// the silo's binaries, served from memory at <c>/</c> and <c>/dashboard/</c> (<see cref="DashboardAssets"/>), reading
/// the REST API and <see cref="DashboardReports"/>.
/// </summary>
internal static class DashboardHosting
{
    public static string AssetsDirectory => Path.Combine(AppContext.BaseDirectory, "Dashboard", "assets");

    public static void UseBudgetDashboard(this IApplicationBuilder app)
    {
        var assets = DashboardAssets.Load(AssetsDirectory);
        app.Use(async (context, next) =>
        {
            if (await DashboardReports.TryServeAsync(context)) return;
            if (await assets.TryServeAsync(context)) return;
            await next(context);
        });
    }
}
