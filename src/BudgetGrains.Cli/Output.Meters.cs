using BudgetGrains.Cli.Commands;
using BudgetGrains.Contracts.V1;
using Spectre.Console;

namespace BudgetGrains.Cli;

/// <summary>How meters are printed: dollars per the meter's units for people, nanos in --json.</summary>
internal sealed partial class Output
{
    public void Meter(Meter meter)
    {
        if (Json(meter)) return;
        Line("meter", meter.Name);
        Line("unit", meter.Unit);
        Line("price", MetersCommand.PriceText(meter));
        Line("as of", meter.AsOf);
    }

    /// <summary>Starts a listing: with --json each meter is printed as it arrives, else they are collected into one table.</summary>
    public Action<Meter> MeterRows(List<Meter> collected) =>
        json ? meter => Json(meter) : collected.Add;

    public void MeterTable(IReadOnlyList<Meter> meters)
    {
        if (json) return;
        if (meters.Count == 0)
        {
            Console.MarkupLine("[grey]no meters[/]");
            return;
        }

        var table = new Table().AddColumns("meter", "unit", "price", "as of");
        foreach (var m in meters)
            table.AddRow(Markup.Escape(m.Name), Markup.Escape(m.Unit), Markup.Escape(MetersCommand.PriceText(m)), Markup.Escape(m.AsOf));
        Console.Write(table);
        Console.MarkupLine($"[grey]{Plural(meters.Count, "meter")}[/]");
    }

    public void Imported(string file, ImportMetersResponse response)
    {
        if (Json(response)) return;
        Console.MarkupLine($"[green]imported {Plural(response.Imported, "meter")} from {Markup.Escape(file)}[/] " +
            $"({response.Added} new, {response.Imported - response.Added} replaced)");
    }

    public void MeterDeleted(string name, DeleteMeterResponse response)
    {
        if (Json(response)) return;
        Console.MarkupLine(response.Deleted ? "[green]DELETED[/]" : "[yellow]NOT FOUND: the catalog has no such meter[/]");
        Line("meter", name);
    }
}
