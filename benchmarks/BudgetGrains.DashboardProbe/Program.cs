using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

// dotnet BudgetGrains.DashboardProbe.dll URL [--runs N] [--chromium PATH]
// Each run is a new chromium process with an empty profile (nothing cached), then one reload in it (cached). For each
// load: time to the first byte of GET /, DOMContentLoaded, the first budgets drawn (the page's own mark,
// window.budgetDashboard.firstTreeMs), and the responses that came before that mark with their sizes on the wire.
if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: BudgetGrains.DashboardProbe URL [--runs 3] [--chromium /usr/bin/chromium]");
    return 2;
}
var url = args[0];
var runs = int.Parse(Option("--runs", "3"), CultureInfo.InvariantCulture);
var chromium = Option("--chromium", "/usr/bin/chromium");

using var playwright = await Playwright.CreateAsync();
Console.WriteLine("| load | first byte ms | DOMContentLoaded ms | first budgets drawn ms | bytes on the wire before it | responses before it |");
Console.WriteLine("|---|---|---|---|---|---|");
for (var run = 1; run <= runs; run++)
{
    await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    var page = await browser.NewPageAsync();
    foreach (var load in new[] { "cold", "cached" })
    {
        if (load == "cold") await page.GotoAsync(url);
        else await page.ReloadAsync();
        // Polled from here: the page's Content-Security-Policy forbids the eval that WaitForFunction would use.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await page.EvaluateAsync<bool>("window.budgetDashboard !== undefined && window.budgetDashboard.firstTreeMs !== null"))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no budgets drawn within 60 s");
            await Task.Delay(20);
        }
        var json = await page.EvaluateAsync<string>("""
            JSON.stringify((() => {
              const nav = performance.getEntriesByType('navigation')[0], mark = window.budgetDashboard.firstTreeMs;
              const before = performance.getEntriesByType('resource').filter(r => r.responseEnd <= mark);
              return { ttfb: nav.responseStart, dom: nav.domContentLoadedEventEnd, tree: mark,
                bytes: nav.transferSize + before.reduce((a, r) => a + r.transferSize, 0),
                responses: [{ name: new URL(nav.name).pathname, size: nav.transferSize, ms: nav.responseEnd - nav.startTime },
                  ...before.map(r => ({ name: new URL(r.name).pathname + new URL(r.name).search, size: r.transferSize, ms: r.responseEnd - r.startTime }))] };
            })())
            """);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        var responses = string.Join(", ", r.GetProperty("responses").EnumerateArray()
            .Select(x => $"{x.GetProperty("name").GetString()} {x.GetProperty("size").GetDouble():F0} B {x.GetProperty("ms").GetDouble():F0} ms"));
        Console.WriteLine($"| {run} {load} | {r.GetProperty("ttfb").GetDouble():F0} | {r.GetProperty("dom").GetDouble():F0} | {r.GetProperty("tree").GetDouble():F0} | {r.GetProperty("bytes").GetDouble():F0} | {responses} |");
    }
}
return 0;

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
