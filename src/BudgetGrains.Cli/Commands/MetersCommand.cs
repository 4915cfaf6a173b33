using System.CommandLine;
using System.Globalization;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl meters list|set|import|delete</c>: the meter catalog that --meter usage is priced with (shaped as
/// <c>budgetctl prices</c>).</summary>
internal static class MetersCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("meters", "The meters (GPU-seconds, vector queries, tool calls...) --meter usage is charged with")
    {
        List(globals, terminal),
        Set(globals, terminal),
        Import(globals, terminal),
        Delete(globals, terminal),
    };

    private static Command List(GlobalOptions globals, Terminal terminal)
    {
        var prefix = new Option<string>("--prefix") { Description = "Only meters starting with this, e.g. gpu_", HelpName = "name-prefix" };
        var pageSize = new Option<int>("--page-size") { Description = "Meters per request, at most 1000 [default: the server's, 100]", HelpName = "n" };
        var command = new Command("list", "List the meters in name order (all pages), with their unit and price") { prefix, pageSize };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var meters = new List<Meter>();
            var row = session.Output.MeterRows(meters);
            var request = new ListMetersRequest { NamePrefix = parse.GetValue(prefix) ?? "", PageSize = parse.GetValue(pageSize) };
            do
            {
                var page = await session.Management.ListMetersAsync(request, session.Call(cancellationToken));
                foreach (var meter in page.Meters) row(meter);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);

            session.Output.MeterTable(meters);
            return Cli.Ok;
        });
        return command;
    }

    private static Command Set(GlobalOptions globals, Terminal terminal)
    {
        var name = new Argument<string>("name") { Description = "The meter's name as calls give it, e.g. gpu_seconds" };
        var unit = new Option<string>("--unit") { Description = "What one unit is, e.g. second, query, GB-hour", HelpName = "unit", Required = true };
        var price = Options.Amount("--price", "Price in dollars of --per units, e.g. 0.0005", required: true);
        var per = new Option<long>("--per") { Description = "How many units --price buys, e.g. 1000000 for a price per 1M [default: 1]", HelpName = "units", DefaultValueFactory = _ => 1 };
        per.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < 1) result.AddError("--per must be 1 or more");
        });
        var asOf = new Option<string>("--as-of") { Description = "The date of the price, yyyy-MM-dd [default: today]", HelpName = "date" };
        var command = new Command("set", "Create or replace a meter") { name, unit, price, per, asOf };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var meter = new Meter
            {
                Name = parse.GetRequiredValue(name),
                Unit = parse.GetRequiredValue(unit),
                PriceNanos = parse.GetValue(price),
                PerUnits = parse.GetValue(per),
                AsOf = parse.GetValue(asOf) ?? "",
            };
            using var session = globals.Open(parse, terminal);
            session.Output.Meter(await session.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = meter }, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Import(GlobalOptions globals, Terminal terminal) => FileImport.Create<ImportMetersRequest, ImportMetersResponse>(
        globals, terminal, "meter",
        "A meter file: {\"meters\": [{\"name\": ..., \"unit\": ..., \"priceNanos\": ..., \"perUnits\": ..., \"asOf\": ...}]}",
        "Create or replace every meter of a file, all or none",
        (session, request, call) => session.Management.ImportMetersAsync(request, call).ResponseAsync,
        (output, file, response) => output.Imported(file, response));

    private static Command Delete(GlobalOptions globals, Terminal terminal)
    {
        var name = new Argument<string>("name") { Description = "The meter to remove" };
        var command = new Command("delete", "Remove a meter: calls that give it are then refused until it is set again") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var meter = parse.GetRequiredValue(name);
            session.Output.MeterDeleted(meter, await session.Management.DeleteMeterAsync(new DeleteMeterRequest { Name = meter }, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    /// <summary>"$0.0005 per 1,000,000 tokens" (a price per one unit: "$0.0005 per second").</summary>
    public static string PriceText(Meter meter) =>
        $"{Client.Money.Format(meter.PriceNanos)} per " + (meter.PerUnits == 1 ? meter.Unit : $"{meter.PerUnits.ToString("N0", CultureInfo.InvariantCulture)} × {meter.Unit}");
}
