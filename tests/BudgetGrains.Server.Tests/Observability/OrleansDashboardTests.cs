using System.Net;

namespace BudgetGrains.Server.Tests.Observability;

/// <summary>Microsoft.Orleans.Dashboard at /orleans on the HTTP port, when turned on.</summary>
public sealed class OrleansDashboardTests
{
    [Fact]
    public async Task TheOrleansDashboardIsServedAtOrleansWhenTurnedOn()
    {
        var options = OwnSilo.NewOptions("orleans-dashboard");
        options.Telemetry.OrleansDashboard = true;
        await using var silo = await OwnSilo.StartAsync(options);
        using var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress };
        var page = await http.GetAsync("/orleans/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("html", (await page.Content.ReadAsStringAsync()).ToLowerInvariant(), StringComparison.Ordinal);
        // The FinOps dashboard and the REST API are still there.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/budgets")).StatusCode);
    }

    [Fact]
    public async Task ItIsOffByDefault()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("no-orleans-dashboard"));
        using var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/orleans/")).StatusCode);
    }
}
