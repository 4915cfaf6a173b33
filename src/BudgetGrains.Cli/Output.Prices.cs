using BudgetGrains.Cli.Commands;
using BudgetGrains.Contracts.V1;
using Spectre.Console;

namespace BudgetGrains.Cli;

/// <summary>How prices are printed: dollars per 1M tokens for people, nanos per token in --json.</summary>
internal sealed partial class Output
{
    public void Price(ModelPrice price)
    {
        if (Json(price)) return;
        Line("model", price.Model);
        Line("input", PricesCommand.PerMillionText(price.InputNanosPerToken) + " per 1M tokens");
        Line("cached input", PricesCommand.PerMillionText(price.CachedInputNanosPerToken) + " per 1M tokens");
        Line("output", PricesCommand.PerMillionText(price.OutputNanosPerToken) + " per 1M tokens");
        Line("reasoning", PricesCommand.PerMillionText(price.ReasoningNanosPerToken) + " per 1M tokens");
        Line("as of", price.AsOf.Length == 0 ? "-" : price.AsOf);
        Line("source", price.Source);
    }

    /// <summary>Starts a listing: with --json each price is printed as it arrives, else they are collected into one table.</summary>
    public Action<ModelPrice> PriceRows(List<ModelPrice> collected) =>
        json ? price => Json(price) : collected.Add;

    public void PriceTable(IReadOnlyList<ModelPrice> prices)
    {
        if (json) return;
        if (prices.Count == 0)
        {
            Console.MarkupLine("[grey]no prices[/]");
            return;
        }

        var table = new Table().AddColumns("model", "input", "cached input", "output", "reasoning", "as of", "source");
        foreach (var column in table.Columns.Skip(1).Take(4)) column.RightAligned();
        foreach (var p in prices)
        {
            table.AddRow(
                Markup.Escape(p.Model),
                Markup.Escape(PricesCommand.PerMillionText(p.InputNanosPerToken)),
                Markup.Escape(PricesCommand.PerMillionText(p.CachedInputNanosPerToken)),
                Markup.Escape(PricesCommand.PerMillionText(p.OutputNanosPerToken)),
                Markup.Escape(PricesCommand.PerMillionText(p.ReasoningNanosPerToken)),
                Markup.Escape(p.AsOf.Length == 0 ? "-" : p.AsOf),
                Markup.Escape(p.Source));
        }

        Console.Write(table);
        Console.MarkupLine($"[grey]{Plural(prices.Count, "price")}, in $ per 1M tokens[/]");
    }

    public void Imported(string file, ImportPricesResponse response)
    {
        if (Json(response)) return;
        Console.MarkupLine($"[green]imported {Plural(response.Imported, "price")} from {Markup.Escape(file)}[/] " +
            $"({response.Added} new, {response.Imported - response.Added} replaced)");
    }

    public void PriceDeleted(string model, DeletePriceResponse response)
    {
        if (Json(response)) return;
        Console.MarkupLine(response.Deleted ? "[green]DELETED[/]" : "[yellow]NOT FOUND: the model had no stored price[/]");
        Line("model", model);
    }
}
