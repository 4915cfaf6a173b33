using System.Globalization;
using System.Text;
using BudgetGrains.Contracts.V1;
using Money = BudgetGrains.Client.Money;
using Google.Protobuf;
using Spectre.Console;

namespace BudgetGrains.Cli;

/// <summary>
/// Every result the CLI prints, in one place: labelled lines and tables for people, or with <c>--json</c> the
/// proto message as one JSON object per line (default values included, so scripts always find every field).
/// </summary>
internal sealed partial class Output(Terminal terminal, bool json)
{
    private const int LabelWidth = 13;
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private IAnsiConsole Console => terminal.Out;

    public void Budget(BudgetStatus status)
    {
        if (Json(status)) return;
        var currency = status.Currency;
        Line("scope", status.Scope);
        Line("limit", Limit(status));
        Line("spent", Money.Format(status.SpentNanos, currency));
        Line("held", $"{Money.Format(status.HeldNanos, currency)} ({Plural(status.OpenHolds, "open hold")})");
        if (status.LimitNanos > 0)
        {
            Line("remaining", Money.Format(status.LimitNanos - status.SpentNanos - status.HeldNanos, currency));
            Line("used", UsedPercent(status));
        }

        Line("period", PeriodText(status));
        Line("parent", status.Parent.Length == 0 ? "-" : status.Parent);
        MarkupLine("frozen", status.Frozen ? "[red]yes: every reserve is denied[/]" : "no");
        Line("thresholds", status.ThresholdPercents.Count == 0 ? "-" : string.Join(", ", status.ThresholdPercents.Select(p => p + "%")));
        Line("currency", currency);
        if (status.DefaultBudget) Line("default", $"yes: the configured default budget of {status.Scope.Split('/')[0]} scopes");
        Line("denials", status.Denials.ToString(CultureInfo.InvariantCulture));
        Line("commits", status.Commits.ToString(CultureInfo.InvariantCulture));
        if (status.RequestsPerMinute > 0) Line("rate", Plural(status.RequestsPerMinute, "reserve") + " per minute");
        if (status.TokensPerMinute > 0) Line("token rate", Plural(status.TokensPerMinute, "token") + " per minute");
        foreach (var m in status.Meters) Line("meter limit", MeterLimitText(m));
        if (status.Calls > 0 || status.Ended)
        {
            Line("calls", status.Calls.ToString(CultureInfo.InvariantCulture));
            Line("retries", status.Retries.ToString(CultureInfo.InvariantCulture));
            Line("deepest call", status.DepthMaxSeen.ToString(CultureInfo.InvariantCulture));
            if (status.Ended) MarkupLine("ended", "[red]yes: every further call is denied[/]");
        }
    }

    public void Tenant(TenantSettings settings)
    {
        if (Json(settings)) return;
        Line("tenant", settings.Tenant);
        Line("unbudgeted", settings.UnknownScopes == UnknownScopes.Unspecified
            ? $"{Mode(settings.EffectiveUnknownScopes)} (the deployment's setting)"
            : Mode(settings.UnknownScopes));

        static string Mode(UnknownScopes mode) => mode switch
        {
            UnknownScopes.Closed => "closed: a chain without any budget is denied NO_BUDGET",
            UnknownScopes.Open => "open: a chain without any budget is admitted",
            _ => mode.ToString(),
        };
    }

    public void Policy(TaskPolicyStatus status)
    {
        if (Json(status)) return;
        var p = status.Policy ?? new TaskPolicy();
        Line("scope", status.Scope);
        Line("max depth", LimitText(p.MaxDepth, v => v.ToString(CultureInfo.InvariantCulture)));
        Line("max retries", LimitText(p.MaxRetries, v => v.ToString(CultureInfo.InvariantCulture)));
        Line("max calls", LimitText(p.MaxCalls, v => v.ToString(CultureInfo.InvariantCulture)));
        Line("max spend", LimitText(p.MaxSpendNanos, v => Money.Format(v)));
        Line("hold ttl", LimitText(p.HoldTtlMs, DurationText));
    }

    /// <summary>Milliseconds in the largest unit that divides them: "30s", "5m", "1h", "1500ms".</summary>
    private static string DurationText(long ms) =>
        ms % 3_600_000 == 0 ? $"{ms / 3_600_000}h"
        : ms % 60_000 == 0 ? $"{ms / 60_000}m"
        : ms % 1_000 == 0 ? $"{ms / 1_000}s"
        : $"{ms}ms";

    public void TaskEnded(string task, EndTaskResponse response)
    {
        if (Json(response)) return;
        Console.MarkupLine("[green]ENDED[/]");
        Line("task", task);
        Line("released", Plural(response.ReleasedHolds, "open hold"));
        Line("outcome", response.Outcome);
    }

    private static string LimitText(Limit? limit, Func<long, string> format) => limit is null ? "not set" : format(limit.Value);

    /// <summary>Starts a listing: with --json each budget is printed as it arrives, else they are collected into one table.</summary>
    public Action<BudgetStatus> BudgetRows(List<BudgetStatus> collected) =>
        json ? status => Json(status) : collected.Add;

    public void BudgetTable(IReadOnlyList<BudgetStatus> budgets)
    {
        if (json) return;
        if (budgets.Count == 0)
        {
            Console.MarkupLine("[grey]no budgets[/]");
            return;
        }

        var table = new Table().AddColumns("scope", "limit", "spent", "held", "open holds", "used", "parent", "frozen");
        var anyMeterLimit = budgets.Any(b => b.Meters.Count > 0);
        if (anyMeterLimit) table.AddColumn("meter limits");
        foreach (var column in table.Columns.Skip(1).Take(4)) column.RightAligned();
        foreach (var s in budgets)
        {
            List<string> cells =
            [
                Markup.Escape(s.Scope),
                Markup.Escape(Limit(s)),
                Markup.Escape(Money.Format(s.SpentNanos, s.Currency)),
                Markup.Escape(Money.Format(s.HeldNanos, s.Currency)),
                s.OpenHolds.ToString(CultureInfo.InvariantCulture),
                UsedBar(s),
                Markup.Escape(s.Parent.Length == 0 ? "-" : s.Parent),
                s.Frozen ? "[red]frozen[/]" : "no",
            ];
            if (anyMeterLimit) cells.Add(s.Meters.Count == 0 ? "-" : Markup.Escape(string.Join("\n", s.Meters.Select(MeterLimitText))));
            table.AddRow([.. cells]);
        }

        Console.Write(table);
        Console.MarkupLine($"[grey]{Plural(budgets.Count, "budget")}[/]");
    }

    /// <param name="meters">The meter usage the request gave, shown beside the amount it was priced into.</param>
    public void Reserved(ReserveResponse response, string requestId, IReadOnlyList<MeterUsage> meters)
    {
        if (Json(response)) return;
        if (response.Decision == Decision.Admitted)
        {
            Console.MarkupLine("[green]ADMITTED[/]");
            Line("reservation", response.ReservationId);
            Line("held", Money.Format(response.HeldNanos));
            Meters(meters);
            Line("remaining", Remaining(response.RemainingNanos));
            Line("expires", Expiry(response.ExpiresAtUnixMs));
            if (response.CrossedThresholds.Count > 0)
            {
                MarkupLine("thresholds", $"[yellow]{Markup.Escape(string.Join(", ", response.CrossedThresholds))} crossed[/]");
            }
        }
        else
        {
            Denied(response.Decision, response.Reason, response.DeniedScope);
            DeniedMeter(response.DeniedMeter, response.RemainingMeterQuantity);
            Line("request id", requestId);
            Line("remaining", Remaining(response.RemainingNanos));
            RetryAfter(response.RetryAfterMs);
        }
    }

    public void Checked(CheckResponse response, IReadOnlyList<MeterUsage> meters)
    {
        if (Json(response)) return;
        if (response.Decision == Decision.Admitted) Console.MarkupLine("[green]WOULD BE ADMITTED[/]");
        else
        {
            Denied(response.Decision, response.Reason, response.DeniedScope);
            DeniedMeter(response.DeniedMeter, response.RemainingMeterQuantity);
        }
        Meters(meters);
        Line("remaining", Remaining(response.RemainingNanos));
        RetryAfter(response.RetryAfterMs);
    }

    public void Committed(string reservationId, CommitResponse response, IReadOnlyList<MeterUsage> meters)
    {
        if (Json(response)) return;
        Console.MarkupLine("[green]COMMITTED[/]");
        Line("reservation", reservationId);
        Line("charged", Money.Format(response.ChargedNanos));
        Meters(meters);
        if (response.Overage) MarkupLine("overage", "[yellow]yes: the actual cost exceeded the held estimate[/]");
        if (response.Late) MarkupLine("late", "[yellow]yes: the hold had expired; the spend is recorded all the same[/]");
    }

    public void Released(string reservationId, ReleaseResponse response)
    {
        if (Json(response)) return;
        Console.MarkupLine(response.Released ? "[green]RELEASED[/]" : "[yellow]NOT RELEASED: the hold had already expired[/]");
        Line("reservation", reservationId);
    }

    /// <summary>"gpu_seconds 1,200 used + 600 held of 144,000": one meter limit of a scope.</summary>
    private static string MeterLimitText(MeterLimitStatus m) =>
        $"{m.Meter} {Count(m.UsedQuantity)} used + {Count(m.HeldQuantity)} held of {Count(m.MaxQuantity)}";

    /// <summary>"gpu_seconds 3600, tool_calls 4": what the amount above was priced from (nothing without meters).</summary>
    private void Meters(IReadOnlyList<MeterUsage> meters)
    {
        if (meters.Count > 0) Line("meters", string.Join(", ", meters.Select(m => $"{m.Meter} {m.Quantity.ToString("N0", CultureInfo.InvariantCulture)}")));
    }

    private bool Json(IMessage message)
    {
        if (!json) return false;
        terminal.OutWriter.WriteLine(Formatter.Format(message));
        return true;
    }

    private void Denied(Decision decision, DenyReason reason, string scope)
    {
        // Only DENIED is expected besides ADMITTED; anything else is shown verbatim rather than guessed at.
        var what = decision == Decision.Denied ? "DENIED" : decision.ToString().ToUpperInvariant();
        Console.MarkupLine($"[red bold]{what}[/]");
        MarkupLine("reason", $"[red]{Markup.Escape(Words(reason))}[/]");
        Line("scope", scope.Length == 0 ? "-" : scope);
        if (reason == DenyReason.NoBudget)
            Line("why", "no scope of the chain has a budget, and unknown scopes are closed: check the names, or set a budget");
    }

    /// <summary>A METER_LIMIT deny: the meter and the quantity of it the scope has left.</summary>
    private void DeniedMeter(string meter, long remaining)
    {
        if (meter.Length > 0) Line("meter", $"{meter}: {Count(remaining)} left");
    }

    private void RetryAfter(long ms)
    {
        if (ms > 0) Line("retry after", $"{ms / 1000.0:0.###} s");
    }

    private void Line(string label, string value) => MarkupLine(label, Markup.Escape(value));

    private void MarkupLine(string label, string markup) =>
        Console.MarkupLine($"[grey]{label.PadRight(LabelWidth)}[/]{markup}");

    private static string Limit(BudgetStatus status) =>
        status.LimitNanos == 0 ? "no limit" : Money.Format(status.LimitNanos, status.Currency);

    private static string Remaining(long nanos) => nanos == long.MaxValue ? "unlimited (no limit on the chain)" : Money.Format(nanos);

    private static string PeriodText(BudgetStatus status) => status.Period is Period.Unspecified or Period.None
        ? "none"
        : $"{PeriodName(status.Period)} (since {Since(status.PeriodStartUnixMs)}, resets {Timestamp(status.PeriodEndUnixMs)})";

    private static string Expiry(long unixMs)
    {
        var left = DateTimeOffset.FromUnixTimeMilliseconds(unixMs) - DateTimeOffset.UtcNow;
        var relative = left > TimeSpan.Zero ? $"in {(int)left.TotalSeconds}s" : "expired";
        return $"{Timestamp(unixMs)} ({relative})";
    }

    private static string Timestamp(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static decimal? UsedFraction(BudgetStatus s) =>
        s.LimitNanos > 0 ? ((decimal)s.SpentNanos + s.HeldNanos) / s.LimitNanos : null;

    private static string UsedPercent(BudgetStatus s) =>
        UsedFraction(s) is { } used ? (used * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "-";

    /// <summary>A ten-cell bar, green below 80%, yellow below 100%, red at or over the limit.</summary>
    private static string UsedBar(BudgetStatus s)
    {
        if (UsedFraction(s) is not { } used) return "-";
        var filled = (int)Math.Clamp(Math.Round(used * 10), 0, 10);
        var color = used >= 1 ? "red" : used >= 0.8m ? "yellow" : "green";
        return $"[{color}]{new string('#', filled)}[/][grey]{new string('.', 10 - filled)}[/] {Markup.Escape(UsedPercent(s))}";
    }

    private static string Plural(long count, string noun) => $"{count} {noun}{(count == 1 ? "" : "s")}";

    /// <summary>BudgetExhausted → "budget exhausted".</summary>
    private static string Words(DenyReason reason)
    {
        var name = reason.ToString();
        var words = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && words.Length > 0) words.Append(' ');
            words.Append(char.ToLowerInvariant(c));
        }

        return words.ToString();
    }
}
