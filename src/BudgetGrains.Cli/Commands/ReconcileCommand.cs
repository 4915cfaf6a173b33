using System.CommandLine;
using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl reconcile import|report</c>: provider bills against the ledger.</summary>
internal static class ReconcileCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("reconcile", "Compare provider bills with the ledger per provider, model and day")
    {
        Import(globals, terminal),
        Report(globals, terminal),
    };

    private static Command Import(GlobalOptions globals, Terminal terminal)
    {
        var file = new Argument<FileInfo>("file") { Description = "The provider's cost export (examples/bills/ shows the shapes)" };
        var format = Options.OneOf("--format", "focus (FOCUS CSV) or openai (organization costs JSON)", required: true, "focus", "openai");
        var id = new Option<string>("--id") { Description = "Names the import; the same id again replaces it [default: the file's name]", HelpName = "import-id" };
        var command = new Command("import", "Import a bill (all or none), then raise DRIFT alerts for days past the bound") { file, format, id };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetRequiredValue(file);
            string content;
            try
            {
                content = await File.ReadAllTextAsync(path.FullName, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Cli.PrintError(terminal, $"cannot read {path.FullName}: {e.Message}");
                return Cli.Failed;
            }
            using var session = globals.Open(parse, terminal);
            var request = new ImportBillRequest
            {
                ImportId = parse.GetValue(id) ?? Path.GetFileNameWithoutExtension(path.Name), Format = parse.GetRequiredValue(format), Content = content,
            };
            session.Output.BillImported(path.Name, await session.Management.ImportBillAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Report(GlobalOptions globals, Terminal terminal)
    {
        var from = Options.Instant("--from", "From this UTC day [default: 30 days ago]");
        var to = Options.Instant("--to", "To this UTC day (exclusive) [default: today included]");
        var provider = new Option<string>("--provider") { Description = "Only this provider, e.g. openai", HelpName = "name" };
        var command = new Command("report", "Billed against counted per provider, model and day, with the drift and suggested prices") { from, to, provider };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new GetReconciliationRequest
            {
                FromUnixMs = parse.GetResult(from) is null ? DateTimeOffset.UtcNow.AddDays(-30).ToUnixTimeMilliseconds() : parse.GetValue(from),
                ToUnixMs = parse.GetValue(to), Provider = parse.GetValue(provider) ?? "",
            };
            session.Output.Reconciliation(await session.Management.GetReconciliationAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }
}
