using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl prices list|set|import|delete</c>: the price catalog that usage-based calls are priced with.</summary>
internal static class PricesCommand
{
    /// <summary>Tokens in the "per 1M tokens" unit prices are typed and shown in.</summary>
    private const long TokensPerMillion = 1_000_000;

    public static Command Create(GlobalOptions globals, Terminal terminal) => new("prices", "The model prices usage-based reserves and commits are charged with")
    {
        List(globals, terminal),
        Set(globals, terminal),
        Import(globals, terminal),
        Delete(globals, terminal),
    };

    private static Command List(GlobalOptions globals, Terminal terminal)
    {
        var prefix = new Option<string>("--prefix") { Description = "Only models starting with this, e.g. claude-", HelpName = "model-prefix" };
        var pageSize = new Option<int>("--page-size") { Description = "Prices per request, at most 1000 [default: the server's, 100]", HelpName = "n" };
        var command = new Command("list", "List the price that applies to each model, in model order (all pages); amounts are $ per 1M tokens") { prefix, pageSize };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var prices = new List<ModelPrice>();
            var row = session.Output.PriceRows(prices);
            var request = new ListPricesRequest { ModelPrefix = parse.GetValue(prefix) ?? "", PageSize = parse.GetValue(pageSize) };
            do
            {
                var page = await session.Management.ListPricesAsync(request, session.Call(cancellationToken));
                foreach (var price in page.Prices) row(price);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);

            session.Output.PriceTable(prices);
            return Cli.Ok;
        });
        return command;
    }

    private static Command Set(GlobalOptions globals, Terminal terminal)
    {
        var model = new Argument<string>("model") { Description = "The model name as calls report it, e.g. gpt-4o" };
        var input = PerMillion("--input", "Input price in $ per 1M tokens, e.g. 2.50", required: true);
        var output = PerMillion("--output", "Output price in $ per 1M tokens, e.g. 10", required: true);
        var cachedInput = PerMillion("--cached-input", "Cached input price in $ per 1M tokens [default: the input price]");
        var reasoning = PerMillion("--reasoning", "Reasoning price in $ per 1M tokens [default: the output price, as providers bill it]");
        var asOf = new Option<string>("--as-of") { Description = "The date of the provider's price list, yyyy-MM-dd [default: today]", HelpName = "date" };
        var command = new Command("set", "Create or replace a model's price (source api: never replaced by the default file)")
        {
            model, input, output, cachedInput, reasoning, asOf,
        };
        command.Validators.Add(result =>
        {
            // On the wire 0 means "left out" (decision 0022), which the server prices as the input or output price.
            if (result.GetResult(cachedInput) is not null && result.GetValue(cachedInput) == 0 && result.GetValue(input) != 0)
                result.AddError("--cached-input 0: a cached input price of 0 reads as left out, which is the input price; leave it out, or price input at 0 too");
            if (result.GetResult(reasoning) is not null && result.GetValue(reasoning) == 0 && result.GetValue(output) != 0)
                result.AddError("--reasoning 0: a reasoning price of 0 reads as left out, which is the output price; leave it out, or price output at 0 too");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Prices left out are completed by the server, by the same rule as an import's (cached input = input,
            // reasoning = output): one rule, in one place.
            var price = new ModelPrice
            {
                Model = parse.GetRequiredValue(model),
                InputNanosPerToken = parse.GetValue(input),
                OutputNanosPerToken = parse.GetValue(output),
                CachedInputNanosPerToken = parse.GetValue(cachedInput),
                ReasoningNanosPerToken = parse.GetValue(reasoning),
                AsOf = parse.GetValue(asOf) ?? "",
            };
            using var session = globals.Open(parse, terminal);
            session.Output.Price(await session.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = price }, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Import(GlobalOptions globals, Terminal terminal) => FileImport.Create<ImportPricesRequest, ImportPricesResponse>(
        globals, terminal, "price",
        "A price file: {\"prices\": [{\"model\": ..., \"inputNanosPerToken\": ..., \"asOf\": ...}]}, the format of the server's default-prices.json",
        "Create or replace every price of a file, all or none (source api)",
        (session, request, call) => session.Management.ImportPricesAsync(request, call).ResponseAsync,
        (output, file, response) => output.Imported(file, response));

    private static Command Delete(GlobalOptions globals, Terminal terminal)
    {
        var model = new Argument<string>("model") { Description = "The model whose stored price to remove" };
        var command = new Command("delete", "Remove a model's price: its calls are then UNKNOWN_PRICE (or priced by configuration or the fallback price)") { model };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var name = parse.GetRequiredValue(model);
            session.Output.PriceDeleted(name, await session.Management.DeletePriceAsync(new DeletePriceRequest { Model = name }, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    /// <summary>A price typed in dollars per 1M tokens, parsed to whole nanos per token.</summary>
    private static Option<long> PerMillion(string name, string description, bool required = false) => new(name)
    {
        Description = description,
        HelpName = "dollars",
        Required = required,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (!MoneyInput.TryParseNanos(text, out var perMillion, out var error)) result.AddError($"{name}: {error}");
            else if (perMillion % TokensPerMillion != 0)
                result.AddError($"{name}: ${text.TrimStart('$')} per 1M tokens is not a whole number of nanos per token: prices go in steps of $0.001 per 1M tokens");
            return perMillion / TokensPerMillion;
        },
    };

    /// <summary>Nanos per token as $ per 1M tokens, the unit providers list prices in.</summary>
    public static string PerMillionText(long nanosPerToken) => Client.Money.Format(nanosPerToken * TokensPerMillion);
}
