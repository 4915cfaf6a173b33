using System.CommandLine;
using BudgetGrains.Contracts.V1;
using System.Globalization;
using Grpc.Core;
using Spectre.Console;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl export ledger|usage</c>: the ledger or usage as a file, streamed from the silo as it reads its store.</summary>
internal static class ExportCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("export", "Export the ledger or usage as CSV, JSON lines or FOCUS CSV")
    {
        Ledger(globals, terminal),
        Usage(globals, terminal),
    };

    private static Command Ledger(GlobalOptions globals, Terminal terminal)
    {
        var format = Format("csv, jsonl or focus (CSV with the FOCUS specification's columns)", "csv", "jsonl", "focus");
        var (from, to, output) = (From("Commits at or after"), To("Commits before"), Out());
        var currency = new Option<string>("--currency") { Description = "format focus: the BillingCurrency written [default: USD]", HelpName = "code" };
        var command = new Command("ledger", "Every commit in a time range, one row each (all of them by default)") { format, from, to, output, currency };
        command.SetAction((parse, cancellationToken) => RunAsync(globals, terminal, parse, output, session => session.Management.ExportLedger(
            new ExportLedgerRequest
            {
                Format = parse.GetRequiredValue(format), FromUnixMs = parse.GetValue(from), ToUnixMs = parse.GetValue(to),
                Currency = parse.GetValue(currency) ?? "",
            }, Streaming(cancellationToken)), cancellationToken));
        return command;
    }

    private static Command Usage(GlobalOptions globals, Terminal terminal)
    {
        var format = Format("csv or jsonl", "csv", "jsonl");
        var (from, to, output) = (From("Periods starting at or after"), To("Periods starting before"), Out());
        var prefix = new Option<string>("--scope") { Description = "Only scopes starting with this, e.g. tenant/ or team/search", HelpName = "scope-prefix" };
        var command = new Command("usage", "Usage rows (scope, period, grouping, key: what `budgets usage` shows) of periods in a time range")
        {
            format, from, to, output, prefix,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(globals, terminal, parse, output, session => session.Management.ExportUsage(
            new ExportUsageRequest
            {
                Format = parse.GetRequiredValue(format), FromUnixMs = parse.GetValue(from), ToUnixMs = parse.GetValue(to),
                ScopePrefix = parse.GetValue(prefix) ?? "",
            }, Streaming(cancellationToken)), cancellationToken));
        return command;
    }

    /// <summary>
    /// Chunks go to the file (or stdout) as they arrive. A file is written under a temporary name and renamed when the
    /// stream ended well, so a failed or interrupted export never leaves a truncated file that looks whole.
    /// </summary>
    private static async Task<int> RunAsync(GlobalOptions globals, Terminal terminal, System.CommandLine.ParseResult parse, Option<FileInfo?> output,
        Func<Session, AsyncServerStreamingCall<ExportChunk>> start, CancellationToken cancellationToken)
    {
        using var session = globals.Open(parse, terminal);
        var file = parse.GetValue(output);
        var partial = file is null ? null : file.FullName + ".partial";
        long rows = 0, bytes = 0;
        try
        {
            await using (var sink = partial is null ? null : new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                using var call = start(session);
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    if (sink is null) await terminal.OutWriter.WriteAsync(chunk.Data.ToStringUtf8().AsMemory(), cancellationToken);
                    else await sink.WriteAsync(chunk.Data.Memory, cancellationToken);
                    (rows, bytes) = (rows + chunk.Rows, bytes + chunk.Data.Length);
                }
            }
            if (file is null)
            {
                await terminal.OutWriter.FlushAsync(cancellationToken);
                return Cli.Ok;
            }
            File.Move(partial!, file.FullName, overwrite: true);
        }
        catch (Exception e) when (partial is not null && e is RpcException or IOException or OperationCanceledException or UnauthorizedAccessException)
        {
            File.Delete(partial);
            if (e is IOException or UnauthorizedAccessException)
            {
                Cli.PrintError(terminal, $"cannot write {file!.FullName}: {e.Message}");
                return Cli.Failed;
            }
            throw;
        }
        terminal.Out.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"exported {rows:N0} rows ({bytes:N0} bytes) to {file.FullName}")));
        return Cli.Ok;
    }

    /// <summary>No deadline: an export of millions of rows takes as long as it takes; Ctrl+C cancels it.</summary>
    private static CallOptions Streaming(CancellationToken cancellationToken) => new(cancellationToken: cancellationToken);

    private static Option<string> Format(string description, params string[] formats) => Options.OneOf("--format", description, required: false, formats);

    private static Option<long> From(string what) => Options.Instant("--from", $"{what} this UTC date or instant [default: the first]");

    private static Option<long> To(string what) => Options.Instant("--to", $"{what} this UTC date or instant (exclusive) [default: the last]");

    private static Option<FileInfo?> Out() =>
        new("--out") { Description = "Write to this file (replaced once the export is complete) [default: stdout]", HelpName = "file" };
}
