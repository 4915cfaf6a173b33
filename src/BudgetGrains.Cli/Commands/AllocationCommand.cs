using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl allocation import|report</c>: shared costs and their allocation to tenants and features.</summary>
internal static class AllocationCommand
{
    /// <summary>Costs sent per call: a file of more is sent in parts; a progress line on stderr follows each.</summary>
    internal const int CostsPerCall = 200;

    public static Command Create(GlobalOptions globals, Terminal terminal) => new("allocation", "Shared costs (a vector cluster, a GPU pool) allocated to tenants and features")
    {
        Import(globals, terminal),
        Report(globals, terminal),
    };

    private static Command Import(GlobalOptions globals, Terminal terminal)
    {
        var file = new Argument<FileInfo>("file")
        {
            Description = "Shared costs: CSV with a header, or a JSON array; fields pool, period_start, period_end, amount, currency, driver, dimension, estimated",
        };
        var format = Options.OneOf("--format", "csv or json [default: from the file's extension, else csv]", required: false, "auto", "csv", "json");
        var command = new Command("import", "Import shared costs; a pool imported again for the same period replaces it") { file, format };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetRequiredValue(file);
            List<SharedCost> costs;
            try
            {
                var chosen = parse.GetValue(format) is "auto" or null
                    ? path.Extension.Equals(".json", StringComparison.OrdinalIgnoreCase) ? "json" : "csv"
                    : parse.GetValue(format)!;
                costs = SharedCostFile.Read(await File.ReadAllTextAsync(path.FullName, cancellationToken), chosen);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Cli.PrintError(terminal, $"cannot read {path.FullName}: {e.Message}");
                return Cli.Failed;
            }
            catch (SharedCostFileException e)
            {
                Cli.PrintError(terminal, $"{path.Name}: {e.Message}; nothing was imported");
                return Cli.Failed;
            }
            if (costs.Count == 0)
            {
                Cli.PrintError(terminal, $"{path.Name} has no costs; nothing was imported");
                return Cli.Failed;
            }

            using var session = globals.Open(parse, terminal);
            var total = new ImportSharedCostsResponse();
            foreach (var part in costs.Chunk(CostsPerCall))
            {
                var request = new ImportSharedCostsRequest { Costs = { part } };
                ImportSharedCostsResponse response;
                try
                {
                    response = await session.Management.ImportSharedCostsAsync(request, session.Call(cancellationToken));
                }
                catch (Grpc.Core.RpcException) when (total.Costs.Count > 0)
                {
                    // The parts sent before are stored; importing the file again replaces them, so it is safe to repeat.
                    terminal.ErrorWriter.WriteLine($"{total.Costs.Count} of {costs.Count} costs were imported before this error; import the file again when it is fixed");
                    throw;
                }
                total.Costs.AddRange(response.Costs);
                total.Replaced += response.Replaced;
                terminal.ErrorWriter.WriteLine($"imported {total.Costs.Count} of {costs.Count} costs");
            }
            session.Output.SharedCostsImported(path.Name, total);
            return Cli.Ok;
        });
        return command;
    }

    private static Command Report(GlobalOptions globals, Terminal terminal)
    {
        var by = Options.OneOf("--by", "What the costs are allocated over", required: false, "tenant", "feature");
        var from = Options.Instant("--from", "From this UTC day [default: the first of this month]");
        var to = Options.Instant("--to", "To this UTC day (exclusive) [default: now]");
        var currency = new Option<string>("--currency") { Description = "Shared costs in this currency [default: USD]", HelpName = "code" };
        var scope = new Option<string>("--scope") { Description = "Only this tenant or feature, e.g. tenant/acme", HelpName = "scope" };
        var command = new Command("report", "Measured, allocated and estimated cost per tenant or feature, and each pool's split") { by, from, to, currency, scope };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var today = DateTime.UtcNow;
            var month = new DateTimeOffset(today.Year, today.Month, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
            using var session = globals.Open(parse, terminal);
            var request = new GetAllocationRequest
            {
                Dimension = parse.GetValue(by)!, FromUnixMs = parse.GetResult(from) is null ? month : parse.GetValue(from), ToUnixMs = parse.GetValue(to),
                Currency = parse.GetValue(currency) ?? "", Scope = parse.GetValue(scope) ?? "",
            };
            session.Output.Allocation(await session.Management.GetAllocationAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }
}
