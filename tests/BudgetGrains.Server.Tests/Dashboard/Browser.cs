using Microsoft.Playwright;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>
/// The browsers the dashboard is tested in, from Debian's packages (neither Playwright's nor Puppeteer's browser download
/// is reachable here; .ci/run installs both): chromium driven by Playwright for .NET, and firefox-esr driven over WebDriver
/// BiDi (<see cref="FirefoxPage"/>). Without one, its tests are skipped with a message naming it, except under CI=true.
/// </summary>
internal static class Browser
{
    public const string Chromium = "/usr/bin/chromium";
    public const string Firefox = "/usr/bin/firefox-esr";

    private static readonly string[] Args =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    /// <summary>Where screenshots go: an artifact folder next to the test binaries.</summary>
    public static string Artifacts { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard")).FullName;

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        Require(Chromium, "chromium");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = Args });
        return (playwright, browser);
    }

    /// <summary>A new page of 1280×1000 in a browser of its own: "chromium" or "firefox".</summary>
    public static async Task<IBrowserPage> OpenAsync(string name)
    {
        if (name == "firefox")
        {
            Require(Firefox, "firefox-esr");
            return await FirefoxPage.LaunchAsync(Firefox, 1280, 1000);
        }
        var (playwright, browser) = await LaunchAsync();
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        return new ChromiumPage(playwright, browser, page);
    }

    private static void Require(string executable, string package)
    {
        if (File.Exists(executable)) return;
        if (Components.InCi) throw new InvalidOperationException($"CI=true and a required component is missing: {package} ({executable}; apt-get install {package})");
        Skip.If(true, $"missing component: {package} ({executable}; apt-get install {package})");
    }
}

/// <summary>What the browser tests shared between chromium and firefox do with a page: the small surface both drivers give
/// alike. Reads go through <see cref="EvaluateAsync{T}"/> (an expression whose value is JSON); <see cref="PageExpect"/>
/// polls them until they hold.</summary>
internal interface IBrowserPage : IAsyncDisposable
{
    /// <summary>Uncaught page errors and console errors so far.</summary>
    IReadOnlyList<string> Errors { get; }

    Task GotoAsync(string url);

    /// <summary>The value of a JavaScript expression (awaited if it is a promise), passed as JSON.</summary>
    Task<T> EvaluateAsync<T>(string expression);

    /// <summary>A real pointer click in the middle of the first element matching <paramref name="selector"/>.</summary>
    Task ClickAsync(string selector);

    /// <summary>Focuses the element, clears it and types <paramref name="text"/> on the keyboard.</summary>
    Task FillAsync(string selector, string text);

    /// <summary>A key press: "Tab", "Shift+Tab", "Enter", "Escape", " " or one character.</summary>
    Task PressAsync(string key);

    Task ScreenshotAsync(string path, bool fullPage = false);
}

internal sealed class ChromiumPage(IPlaywright playwright, IBrowser browser, IPage page) : IBrowserPage
{
    private readonly List<string> _errors = Watch(page);

    public IPage Page => page;

    public IReadOnlyList<string> Errors => _errors;

    private static List<string> Watch(IPage page)
    {
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add(message.Text); };
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };
        return errors;
    }

    public async Task GotoAsync(string url) => await page.GotoAsync(url);

    public async Task<T> EvaluateAsync<T>(string expression) =>
        System.Text.Json.JsonSerializer.Deserialize<T>(await page.EvaluateAsync<string>($"(async () => JSON.stringify(await ({expression})))()") ?? "null")!;

    public Task ClickAsync(string selector) => page.Locator(selector).First.ClickAsync();

    public Task FillAsync(string selector, string text) => page.Locator(selector).First.FillAsync(text);

    public Task PressAsync(string key) => page.Keyboard.PressAsync(key);

    public Task ScreenshotAsync(string path, bool fullPage = false) => page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });

    public async ValueTask DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
    }
}
