using System.Net;
using BudgetGrains.Contracts.V1;
using Microsoft.Playwright;
using static BudgetGrains.Server.Tests.Auth.AuthFixture;
using static Microsoft.Playwright.Assertions;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>
/// With auth on, a browser signs in once on the dashboard's sign-in page (the key becomes an HttpOnly, SameSite=Strict
/// cookie) and then reaches both the FinOps dashboard and the Orleans dashboard at /orleans; a viewer key sees the FinOps
/// views but is refused the Orleans dashboard, and without a key the browser is sent to sign in.
/// </summary>
public sealed class DashboardSignInTests
{
    [SkippableFact]
    public async Task AnAdminSignsInOnceAndReachesTheOrleansDashboardAViewerDoesNot()
    {
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var options = OwnSilo.NewOptions("dashboard-sign-in");
        options.Auth.Mode = "required";
        options.Auth.AdminKeyFile = Path.Combine(options.DataDir, "admin.key");
        options.Telemetry.OrleansDashboard = true;
        await using var silo = await OwnSilo.StartAsync(options);
        var admin = (await File.ReadAllTextAsync(options.Auth.AdminKeyFile)).Trim();
        var viewer = (await silo.Management.CreateApiKeyAsync(new CreateApiKeyRequest { Role = "viewer" }, As(admin))).Key;
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "cost_center/cc-9", LimitNanos = 7_000_000_000 }, As(admin));
        var home = silo.Silo.HttpAddress!;

        // Without a key: a script gets 401, a browser opening the Orleans dashboard is sent to the sign-in page.
        using (var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = home })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/orleans/")).StatusCode);
            using var navigate = new HttpRequestMessage(HttpMethod.Get, "/orleans/");
            navigate.Headers.Accept.ParseAdd("text/html");
            var redirect = await http.SendAsync(navigate);
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Equal("/dashboard/sign-in.html?return=%2Forleans%2F", redirect.Headers.Location!.OriginalString);
        }

        var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);

        // A viewer signs in: the FinOps views read, the Orleans dashboard is refused.
        await page.GotoAsync(new Uri(home, "/orleans/").ToString());
        await Expect(page).ToHaveURLAsync(new Uri(home, "/dashboard/sign-in.html?return=%2Forleans%2F").ToString());
        await SignInAsync(page, "not-a-key");
        await Expect(page.Locator("#sign-in-error")).ToContainTextAsync("not valid");
        var refused = await page.RunAndWaitForResponseAsync(() => SignInAsync(page, viewer), r => r.Url.EndsWith("/orleans/", StringComparison.Ordinal));
        Assert.Equal(403, refused.Status);
        await Expect(page).ToHaveURLAsync(new Uri(home, "/orleans/").ToString());
        await page.WaitForLoadStateAsync(LoadState.Load);
        await page.GotoAsync(home.ToString());
        await Expect(page.Locator("tr[data-scope='cost_center/cc-9'] [data-field=limit]")).ToHaveAttributeAsync("data-nanos", "7000000000");

        // The cookie: the key, HttpOnly (no script sees it), SameSite=Strict, not Secure on plain HTTP.
        var cookie = (await context.CookiesAsync()).Single(c => c.Name == "budgetgrains_key");
        Assert.Equal(viewer, cookie.Value);
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.False(cookie.Secure);
        Assert.DoesNotContain("budgetgrains_key", await page.EvaluateAsync<string>("document.cookie"), StringComparison.Ordinal);

        // Sign out, then in as an admin: the Orleans dashboard and every call it makes are allowed.
        await page.GotoAsync(new Uri(home, "/dashboard/sign-in.html?return=%2Forleans%2F").ToString());
        await page.Locator("#sign-out-button").ClickAsync();
        await Expect(page.Locator("#sign-out-status")).ToHaveTextAsync("Signed out.");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "budgetgrains_key");
        var orleansCalls = new List<(string Url, int Status)>();
        page.Response += (_, r) => { if (new Uri(r.Url).AbsolutePath.StartsWith("/orleans", StringComparison.Ordinal)) orleansCalls.Add((r.Url, r.Status)); };
        var opened = await page.RunAndWaitForResponseAsync(() => SignInAsync(page, admin), r => r.Url.EndsWith("/orleans/", StringComparison.Ordinal));
        Assert.Equal(200, opened.Status);
        await Expect(page).ToHaveURLAsync(new Uri(home, "/orleans/").ToString());
        await Expect(page.Locator("body")).Not.ToBeEmptyAsync();
        await page.WaitForTimeoutAsync(1_000);
        Assert.True(orleansCalls.Count > 1, "the Orleans dashboard page makes calls of its own under /orleans");
        Assert.All(orleansCalls, c => Assert.True(c.Status < 400, $"{c.Url} answered {c.Status}"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.Artifacts, "orleans.png") });

        // A page of another origin cannot use the cookie: its requests carry an Origin that is not the silo's.
        var foreign = await context.APIRequest.GetAsync(new Uri(home, "/orleans/").ToString(),
            new() { Headers = new Dictionary<string, string> { ["Origin"] = "http://127.0.0.1:1" } });
        Assert.Equal(401, foreign.Status);
        Assert.Empty(errors);
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.Locator("#key-input").FillAsync(key);
        await page.Locator("#key-input").PressAsync("Enter");
    }
}
