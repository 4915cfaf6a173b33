using System.Diagnostics;
using System.Text.Json;
using WebDriverBiDi;
using WebDriverBiDi.BrowsingContext;
using WebDriverBiDi.Input;
using WebDriverBiDi.Script;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>
/// Debian's firefox-esr driven over WebDriver BiDi, the W3C protocol Firefox speaks itself (its Remote Agent, started by
/// <c>--remote-debugging-port</c>), through the WebDriverBiDi client library: no geckodriver and no browser download.
/// Playwright's Firefox needs Playwright's own patched build; PuppeteerSharp 25.15.0 needs WebDriverBiDi 0.0.61, which
/// the package feed does not serve (docs/decisions/0034).
/// </summary>
internal sealed class FirefoxPage : IBrowserPage
{
    private static readonly Dictionary<string, string> Keys = new(StringComparer.Ordinal)
    {
        ["Tab"] = "\uE004", ["Enter"] = "\uE007", ["Escape"] = "\uE00C", ["Shift"] = "\uE008", ["Backspace"] = "\uE003",
    };

    private readonly Process _process;
    private readonly DirectoryInfo _profile;
    private readonly BiDiDriver _driver;
    private readonly string _context;
    private readonly List<string> _errors = [];

    private FirefoxPage(Process process, DirectoryInfo profile, BiDiDriver driver, string context) =>
        (_process, _profile, _driver, _context) = (process, profile, driver, context);

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors) return [.. _errors];
        }
    }

    public static async Task<FirefoxPage> LaunchAsync(string executable, int width, int height)
    {
        var profile = Directory.CreateTempSubdirectory("budgetgrains-firefox-");
        // No first-run pages, updates, telemetry or remote settings: the browser talks to the silo under test only.
        await File.WriteAllTextAsync(Path.Combine(profile.FullName, "user.js"), """
            user_pref("browser.shell.checkDefaultBrowser", false);
            user_pref("browser.startup.homepage_override.mstone", "ignore");
            user_pref("datareporting.policy.dataSubmissionEnabled", false);
            user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
            user_pref("app.update.disabledForTesting", true);
            user_pref("services.settings.server", "http://127.0.0.1:9/");
            user_pref("network.captive-portal-service.enabled", false);
            """);
        var start = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--headless", "--no-remote", "--profile", profile.FullName, "--remote-debugging-port=0", "about:blank" })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, line) =>
        {
            const string marker = "WebDriver BiDi listening on ";
            if (line.Data?.IndexOf(marker, StringComparison.Ordinal) is >= 0 and var at) listening.TrySetResult(line.Data[(at + marker.Length)..].Trim());
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var endpoint = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var driver = new BiDiDriver(TimeSpan.FromSeconds(30));
            await driver.StartAsync(endpoint + "/session");
            await driver.Session.NewSessionAsync(new WebDriverBiDi.Session.NewCommandParameters());
            var context = (await driver.BrowsingContext.GetTreeAsync(new GetTreeCommandParameters())).ContextTree[0].BrowsingContextId;
            var page = new FirefoxPage(process, profile, driver, context);
            driver.Log.OnEntryAdded.AddObserver(entry =>
            {
                if (entry.Level == WebDriverBiDi.Log.LogLevel.Error) lock (page._errors) page._errors.Add(entry.Text ?? "(no text)");
            });
            await driver.Session.SubscribeAsync(new WebDriverBiDi.Session.SubscribeCommandParameters(["log.entryAdded"], [], []));
            await driver.BrowsingContext.SetViewportAsync(new SetViewportCommandParameters
            {
                BrowsingContextId = context, Viewport = new Viewport { Width = (ulong)width, Height = (ulong)height },
            });
            return page;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }

    public async Task GotoAsync(string url) =>
        await _driver.BrowsingContext.NavigateAsync(new NavigateCommandParameters(_context, url) { Wait = ReadinessState.Complete });

    public async Task<T> EvaluateAsync<T>(string expression)
    {
        var result = await _driver.Script.EvaluateAsync(
            new EvaluateCommandParameters($"(async () => JSON.stringify(await ({expression})))()", new ContextTarget(_context), true));
        return result switch
        {
            EvaluateResultSuccess { Result: var value } when value.TryAs<StringRemoteValue>(out var json) => JsonSerializer.Deserialize<T>(json.Value)!,
            EvaluateResultSuccess => default!,
            EvaluateResultException failed => throw new InvalidOperationException($"{expression}: {failed.ExceptionDetails.Text}"),
            _ => throw new InvalidOperationException($"{expression}: {result}"),
        };
    }

    public async Task ClickAsync(string selector)
    {
        var at = await EvaluateAsync<double[]?>($$"""
            (() => { const e = document.querySelector({{JsonSerializer.Serialize(selector)}}); if (!e) return null;
              e.scrollIntoView({ block: "center" }); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()
            """) ?? throw new InvalidOperationException($"no element {selector} to click");
        var pointer = new PointerSourceActions();
        pointer.Actions.Add(new PointerMoveAction { X = (long)at[0], Y = (long)at[1] });
        pointer.Actions.Add(new PointerDownAction(0));
        pointer.Actions.Add(new PointerUpAction(0));
        var actions = new PerformActionsCommandParameters(_context);
        actions.Actions.Add(pointer);
        await _driver.Input.PerformActionsAsync(actions);
    }

    public async Task FillAsync(string selector, string text)
    {
        await EvaluateAsync<bool>($"(() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); e.focus(); e.value = ''; return true; }})()");
        var keys = new KeySourceActions();
        foreach (var c in text)
        {
            keys.Actions.Add(new KeyDownAction(c.ToString()));
            keys.Actions.Add(new KeyUpAction(c.ToString()));
        }
        await PerformKeysAsync(keys);
    }

    public async Task PressAsync(string key)
    {
        var parts = key.Split('+');
        var keys = new KeySourceActions();
        foreach (var part in parts) keys.Actions.Add(new KeyDownAction(Keys.GetValueOrDefault(part, part)));
        foreach (var part in parts.Reverse()) keys.Actions.Add(new KeyUpAction(Keys.GetValueOrDefault(part, part)));
        await PerformKeysAsync(keys);
    }

    private async Task PerformKeysAsync(KeySourceActions keys)
    {
        var actions = new PerformActionsCommandParameters(_context);
        actions.Actions.Add(keys);
        await _driver.Input.PerformActionsAsync(actions);
    }

    public async Task ScreenshotAsync(string path, bool fullPage = false)
    {
        var shot = await _driver.BrowsingContext.CaptureScreenshotAsync(new CaptureScreenshotCommandParameters(_context)
        {
            Origin = fullPage ? ScreenshotOrigin.Document : ScreenshotOrigin.Viewport,
        });
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot.Data));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _driver.Browser.CloseAsync(new WebDriverBiDi.Browser.CloseCommandParameters());
            await _driver.StopAsync();
        }
        catch (WebDriverBiDiException)
        {
            // The browser is killed below either way.
        }
        if (!_process.WaitForExit(5_000)) _process.Kill(entireProcessTree: true);
        _process.Dispose();
        try
        {
            _profile.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A file the browser still held; the temporary directory is left behind.
        }
    }
}
