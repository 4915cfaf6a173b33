namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>
/// Accessibility checks run in the page, in every browser: controls without an accessible name, visible text below the
/// WCAG AA contrast ratio (4.5:1, 3:1 for large text) against the background it is drawn on, and the focus indicator of
/// the focused element below 3:1 against its surroundings (WCAG 1.4.11).
/// </summary>
internal static class Accessibility
{
    /// <summary>Relative luminance, contrast ratio and the effective (first opaque) background of an element.</summary>
    private const string Colour = """
        const rgb = s => { const m = /rgba?\(([^)]+)\)/.exec(s); if (!m) return null;
          const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return { c: p.slice(0, 3), a: p.length > 3 ? p[3] : 1 }; };
        const lum = c => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const ratio = (x, y) => { const [hi, lo] = [lum(x), lum(y)].sort((a, b) => b - a); return (hi + 0.05) / (lo + 0.05); };
        const background = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c.c; }
          return [255, 255, 255]; };
        """;

    /// <summary>Buttons, inputs, links and selects a screen reader would announce without a name.</summary>
    public static Task<string[]> UnnamedControlsAsync(IBrowserPage page) => page.EvaluateAsync<string[]>("""
        [...document.querySelectorAll("button, input, select, textarea, a[href]")]
          .filter(e => e.checkVisibility())
          .filter(e => !((e.getAttribute("aria-label") || "").trim() || (e.labels && [...e.labels].some(l => l.textContent.trim()))
            || (e.getAttribute("aria-labelledby") || "").split(" ").some(id => id && document.getElementById(id)?.textContent.trim())
            || (e.tagName !== "INPUT" && e.textContent.trim())))
          .map(e => e.outerHTML.slice(0, 80))
        """);

    public static Task<string[]> LowContrastTextAsync(IBrowserPage page) => page.EvaluateAsync<string[]>($$"""
        (() => { {{Colour}}
          const bad = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n; (n = walker.nextNode());) {
            const e = n.parentElement;
            if (!n.textContent.trim() || !e.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
            const s = getComputedStyle(e), size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
            const fg = rgb(s.color), need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5, r = ratio(fg.c, background(e));
            if (r < need || fg.a < 1 || Number(s.opacity) < 1) bad.push(`${e.tagName.toLowerCase()}.${e.className} "${n.textContent.trim().slice(0, 30)}": ${r.toFixed(2)}`);
          }
          return bad; })()
        """);

    /// <summary>The contrast of the focused element's outline (drawn with a gap around it) against the background around it; 0 without one.</summary>
    public static Task<double> FocusIndicatorContrastAsync(IBrowserPage page) => page.EvaluateAsync<double>($$"""
        (() => { {{Colour}}
          const e = document.activeElement, s = getComputedStyle(e);
          if (s.outlineStyle === "none" || parseFloat(s.outlineWidth) < 2) return 0;
          return ratio(rgb(s.outlineColor).c, background(e.parentElement)); })()
        """);
}
