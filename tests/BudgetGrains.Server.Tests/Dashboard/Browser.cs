using Microsoft.Playwright;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>
/// Playwright for .NET driving Debian's chromium (the Playwright browser download is not reachable here; .ci/run
/// installs chromium). Without it the browser tests are skipped with a message naming it, except under CI=true.
/// </summary>
internal static class Browser
{
    public const string Chromium = "/usr/bin/chromium";

    private static readonly string[] Args =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    /// <summary>Where screenshots go: an artifact folder next to the test binaries.</summary>
    public static string Artifacts { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard")).FullName;

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        if (!File.Exists(Chromium))
        {
            if (Components.InCi) throw new InvalidOperationException($"CI=true and a required component is missing: chromium ({Chromium}; apt-get install chromium)");
            Skip.If(true, $"missing component: chromium ({Chromium}; apt-get install chromium)");
        }
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = Args });
        return (playwright, browser);
    }
}
