using System.Globalization;
using BudgetGrains.Contracts.V1;
using Spectre.Console;

namespace BudgetGrains.Cli;

/// <summary>Alerts: a table, one alert in full, and the one-line form `alerts watch` prints.</summary>
internal sealed partial class Output
{
    public void AlertTable(IReadOnlyList<Alert> alerts, bool more)
    {
        if (json)
        {
            foreach (var alert in alerts) Json(alert);
            return;
        }
        if (alerts.Count == 0)
        {
            Console.MarkupLine("[grey]no alerts[/]");
            return;
        }
        var table = new Table().AddColumns("id", "fired", "alert", "message", "acknowledged", "delivery");
        table.Columns[0].RightAligned();
        foreach (var a in alerts)
        {
            table.AddRow(
                Markup.Escape(a.Id),
                Markup.Escape(Timestamp(a.FiredAtUnixMs)),
                KindMarkup(a),
                Markup.Escape(a.Message),
                a.Acknowledged ? Markup.Escape(Acknowledgement(a)) : "[yellow]no[/]",
                string.Join(", ", a.Deliveries.Select(DeliveryMarkup)));
        }
        Console.Write(table);
        Console.MarkupLine($"[grey]{Plural(alerts.Count, "alert")}{(more ? ", newest first; older ones not shown (--max 0 shows all)" : "")}[/]");
    }

    public void Alert(Alert a)
    {
        if (Json(a)) return;
        Line("alert", a.Id);
        MarkupLine("kind", KindMarkup(a));
        Line("scope", a.Scope);
        Line("message", a.Message);
        Line("fired", Timestamp(a.FiredAtUnixMs));
        MarkupLine("acknowledged", a.Acknowledged ? Markup.Escape(Acknowledgement(a)) : "[yellow]no[/]");
        foreach (var d in a.Deliveries) MarkupLine("delivery", DeliveryMarkup(d));
    }

    /// <summary>"#42 2031-05-02 12:00:00 UTC threshold 50% team/search spent $50.00 of $100.00 (50%) this month".</summary>
    public void AlertLine(Alert a)
    {
        if (Json(a)) return;
        Console.MarkupLine($"[grey]#{Markup.Escape(a.Id)} {Markup.Escape(Timestamp(a.FiredAtUnixMs))}[/] {KindMarkup(a)} {Markup.Escape(a.Message)}");
        terminal.OutWriter.Flush();
    }

    private static string KindMarkup(Alert a) => a.Kind switch
    {
        AlertKind.Threshold => $"[yellow]threshold {a.ThresholdPercent.ToString(CultureInfo.InvariantCulture)}%[/]",
        AlertKind.Velocity => "[red]velocity[/]",
        AlertKind.Forecast => "[red]forecast[/]",
        _ => Markup.Escape(a.Kind.ToString().ToLowerInvariant()),
    };

    private static string Acknowledgement(Alert a) =>
        $"{(a.AcknowledgedBy.Length == 0 ? "yes" : "by " + a.AcknowledgedBy)} at {Timestamp(a.AcknowledgedAtUnixMs)}";

    /// <summary>"ops: delivered", "ops: retrying (3 attempts)", "ops: FAILED after 50 attempts", with the last error.</summary>
    private static string DeliveryMarkup(AlertDelivery d)
    {
        var sink = Markup.Escape(d.Sink);
        var state = d.State switch
        {
            DeliveryState.Delivered => $"{sink}: [green]delivered[/]",
            DeliveryState.Failed => $"{sink}: [red]FAILED after {Plural(d.Attempts, "attempt")}[/]",
            _ when d.Attempts == 0 => $"{sink}: [grey]queued[/]",
            _ => $"{sink}: [yellow]retrying ({Plural(d.Attempts, "attempt")})[/]",
        };
        return d.LastError.Length == 0 || d.State == DeliveryState.Delivered ? state : $"{state} [grey]({Markup.Escape(d.LastError)})[/]";
    }
}
