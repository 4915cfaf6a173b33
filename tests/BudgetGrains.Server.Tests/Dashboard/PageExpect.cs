using System.Text.Json;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>Assertions on a page that wait until they hold (the page draws what its fetches bring), the same in every
/// browser: each polls a JavaScript expression through <see cref="IBrowserPage.EvaluateAsync{T}"/>.</summary>
internal static class PageExpect
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static string Js(string text) => JsonSerializer.Serialize(text);

    /// <summary>Polls <paramref name="expression"/> until <paramref name="holds"/>; fails naming <paramref name="what"/> and the last value.</summary>
    public static async Task<T> UntilAsync<T>(this IBrowserPage page, string expression, Func<T, bool> holds, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var value = await page.EvaluateAsync<T>(expression);
            if (holds(value)) return value;
            if (DateTime.UtcNow > deadline)
            {
                // The page's status line says what it did last (an action refused, a load failed): the likeliest why.
                var status = await page.EvaluateAsync<string?>("document.getElementById('status')?.textContent ?? null");
                Assert.Fail($"{what} within {Timeout.TotalSeconds:F0} s; last: {JsonSerializer.Serialize(value)}; the page's status: {JsonSerializer.Serialize(status)}");
            }
            await Task.Delay(50);
        }
    }

    public static Task ExpectAttributeAsync(this IBrowserPage page, string selector, string attribute, string expected) =>
        page.UntilAsync<string?>($"document.querySelector({Js(selector)})?.getAttribute({Js(attribute)}) ?? null", v => v == expected,
            $"{selector} has {attribute}=\"{expected}\"");

    /// <summary>The element's text, whitespace collapsed, equals <paramref name="expected"/>.</summary>
    public static Task ExpectTextAsync(this IBrowserPage page, string selector, string expected) =>
        page.UntilAsync<string?>(Text(selector), v => v == expected, $"{selector} reads \"{expected}\"");

    public static Task ExpectContainsTextAsync(this IBrowserPage page, string selector, string expected) =>
        page.UntilAsync<string?>(Text(selector), v => v is not null && v.Contains(expected, StringComparison.Ordinal), $"{selector} contains \"{expected}\"");

    public static Task ExpectCountAsync(this IBrowserPage page, string selector, int expected) =>
        page.UntilAsync<int>($"document.querySelectorAll({Js(selector)}).length", v => v == expected, $"{expected} of {selector}");

    /// <summary>The id of the focused element equals <paramref name="id"/>.</summary>
    public static Task ExpectFocusAsync(this IBrowserPage page, string id) =>
        page.UntilAsync<string?>("document.activeElement?.id ?? null", v => v == id, $"#{id} has the focus");

    public static Task<string?> AttributeAsync(this IBrowserPage page, string selector, string attribute) =>
        page.EvaluateAsync<string?>($"document.querySelector({Js(selector)})?.getAttribute({Js(attribute)}) ?? null");

    private static string Text(string selector) =>
        $"document.querySelector({Js(selector)})?.textContent.replace(/\\s+/g, ' ').trim() ?? null";
}
