using System.Text.Json;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Server.Observability;

namespace BudgetGrains.Server.Dashboard;

/// <summary>
/// The reports the dashboard draws that no Management rpc gives: <c>GET /api/v1/reports/spend?days=30</c> (cost per
/// feature (or agent, for calls without a feature) per day, by tenant, model and outcome, cost per inference and cache hit rate per feature, from the ledger's
/// most recent <see cref="MaxLedgerRows"/> commits) and <c>GET /api/v1/reports/live</c> (admissions and denials per
/// second, spend per minute, from memory). Amounts are JSON numbers of nanos.
/// </summary>
internal static class DashboardReports
{
    public const string Root = "/api/v1/reports";

    /// <summary>The ledger rows one spend report reads at most (the newest); a report over more says "truncated".</summary>
    public const int MaxLedgerRows = 200_000;

    public const int MaxDays = 90;

    /// <summary>Features drawn as their own series in the per-day chart; the rest are summed as "other".</summary>
    public const int TopFeatures = 8;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<bool> TryServeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!path.StartsWithSegments(Root, out var rest)) return false;
        context.Response.Headers.CacheControl = "no-store";
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await Error(context, StatusCodes.Status405MethodNotAllowed, "UNIMPLEMENTED", $"{context.Request.Method} is not allowed on {path}; use GET");
            return true;
        }
        if (rest == "/live")
        {
            await context.Response.WriteAsJsonAsync(context.RequestServices.GetRequiredService<LiveRates>().Snapshot(), Json, context.RequestAborted);
            return true;
        }
        if (rest == "/spend")
        {
            var days = 30;
            if (context.Request.Query.TryGetValue("days", out var given) && (!int.TryParse(given, out days) || days < 1 || days > MaxDays))
            {
                await Error(context, StatusCodes.Status400BadRequest, "INVALID_ARGUMENT", $"days must be 1 to {MaxDays}, not '{given}'");
                return true;
            }
            var reader = context.RequestServices.GetService<ILedgerReader>();
            if (reader is null)
            {
                await Error(context, StatusCodes.Status501NotImplemented, "UNIMPLEMENTED", "this store has no ledger reports");
                return true;
            }
            var clock = context.RequestServices.GetRequiredService<TimeProvider>();
            var report = await SpendAsync(reader, clock.GetUtcNow(), days, context.RequestAborted);
            await context.Response.WriteAsJsonAsync(report, Json, context.RequestAborted);
            return true;
        }
        await Error(context, StatusCodes.Status404NotFound, "NOT_FOUND", $"no report {path}; the reports are {Root}/spend and {Root}/live");
        return true;
    }

    public static async Task<SpendReport> SpendAsync(ILedgerReader reader, DateTimeOffset now, int days, CancellationToken cancellationToken)
    {
        var firstDay = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1 - days);
        var since = firstDay.ToUnixTimeMilliseconds();
        var rows = await reader.ReadRecentAsync(since, MaxLedgerRows + 1, cancellationToken);
        var truncated = rows.Count > MaxLedgerRows;
        var used = truncated ? rows.Skip(1).ToList() : rows;

        var dayKeys = Enumerable.Range(0, days).Select(d => firstDay.AddDays(d).ToString("yyyy-MM-dd")).ToArray();
        var byFeature = used.GroupBy(r => Scope(r.Feature)).ToList();
        var top = byFeature.OrderByDescending(g => g.Sum(r => r.ActualNanos)).ThenBy(g => g.Key, StringComparer.Ordinal).Take(TopFeatures)
            .Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var series = used.GroupBy(r => top.Contains(Scope(r.Feature)) ? Scope(r.Feature) : "other")
            .Select(g =>
            {
                var perDay = new long[days];
                foreach (var r in g) perDay[DayIndex(r.CommittedAtUnixMs)] += r.ActualNanos;
                return new FeatureDays(g.Key, perDay.Sum(), perDay);
            })
            .OrderByDescending(s => s.SpentNanos).ThenBy(s => s.Feature, StringComparer.Ordinal).ToList();

        var features = byFeature.Select(g =>
        {
            var amounts = g.Select(r => r.ActualNanos).Order().ToArray();
            var (input, cached) = (g.Sum(r => r.InputTokens), g.Sum(r => r.CachedInputTokens));
            return new FeatureCost(g.Key, amounts.Sum(), amounts.Length, Percentile(amounts, 0.50), Percentile(amounts, 0.99),
                input, cached, input == 0 ? null : (double)cached / input);
        }).OrderByDescending(f => f.SpentNanos).ThenBy(f => f.Feature, StringComparer.Ordinal).ToList();

        return new SpendReport(since, now.ToUnixTimeMilliseconds(), dayKeys, used.Count, truncated, used.Sum(r => r.ActualNanos),
            series, Groups(used, r => Name(r.Tenant)), Groups(used, r => r.Model.Length == 0 ? "(none)" : r.Model),
            Groups(used, r => r.Outcome.Length == 0 ? "(none)" : r.Outcome), features);

        int DayIndex(long unixMs) => Math.Clamp((int)((unixMs - since) / 86_400_000), 0, days - 1);
    }

    /// <summary>A feature (or agent) by its scope, "feature/rerank"; none → "(none)".</summary>
    private static string Scope(string scope) => scope.Length == 0 ? "(none)" : scope;

    /// <summary>"tenant/acme" → "acme"; none → "(none)".</summary>
    private static string Name(string scope) => scope.Length == 0 ? "(none)" : scope[(scope.IndexOf('/', StringComparison.Ordinal) + 1)..];

    private static List<SpendGroup> Groups(IEnumerable<LedgerRow> rows, Func<LedgerRow, string> key) =>
        rows.GroupBy(key)
            .Select(g => new SpendGroup(g.Key, g.Sum(r => r.ActualNanos), g.LongCount(), g.Sum(r => r.ActualNanos) / g.LongCount()))
            .OrderByDescending(g => g.SpentNanos).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();

    /// <summary>Nearest rank: the smallest amount with at least p of the amounts at or below it.</summary>
    private static long Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static async Task Error(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new { error = new { code, status, message } }, Json, context.RequestAborted);
    }
}

public sealed record SpendReport(long SinceUnixMs, long UntilUnixMs, string[] Days, int Commits, bool Truncated, long SpentNanos,
    IReadOnlyList<FeatureDays> FeatureDaily, IReadOnlyList<SpendGroup> Tenants, IReadOnlyList<SpendGroup> Models,
    IReadOnlyList<SpendGroup> Outcomes, IReadOnlyList<FeatureCost> Features);

public sealed record FeatureDays(string Feature, long SpentNanos, long[] PerDayNanos);

/// <param name="AverageNanos">Spend ÷ commits of the group (cost per outcome for outcomes).</param>
public sealed record SpendGroup(string Key, long SpentNanos, long Commits, long AverageNanos);

/// <param name="CacheHitRate">Cached input tokens ÷ input tokens; null when no input tokens were reported.</param>
public sealed record FeatureCost(string Feature, long SpentNanos, long Commits, long P50Nanos, long P99Nanos, long InputTokens,
    long CachedInputTokens, double? CacheHitRate);
