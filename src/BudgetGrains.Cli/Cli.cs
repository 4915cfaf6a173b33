using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Net.Http;
using System.Net.Sockets;
using BudgetGrains.Cli.Commands;
using Grpc.Core;
using Spectre.Console;

namespace BudgetGrains.Cli;

/// <summary>
/// budgetctl's entry point: parses the command line, runs the command, and turns expected failures into one
/// line on stderr and an exit code (0 done, including a deny; 1 the server refused or could not be reached; 2 usage).
/// </summary>
public static class Cli
{
    /// <summary>Exit code of a command that ran (a deny is an answer, so it is 0 too).</summary>
    public const int Ok = 0;

    /// <summary>Exit code when the server answered with an error or could not be reached.</summary>
    public const int Failed = 1;

    /// <summary>Exit code of a command line that could not be understood.</summary>
    public const int Usage = 2;

    /// <summary>Runs budgetctl with plain (uncolored) output on the given writers; what tests and embedding hosts use.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, Terminal.Plain(stdout, stderr));

    internal static async Task<int> RunAsync(string[] args, Terminal terminal)
    {
        var globals = new GlobalOptions();
        var root = new RootCommand("budgetctl: manage BudgetGrains budgets and try admission from the command line.");
        globals.AddTo(root);
        root.Add(BudgetsCommand.Create(globals, terminal));
        root.Add(TasksCommand.Create(globals, terminal));
        root.Add(JobsCommand.Create(globals, terminal));
        root.Add(TenantsCommand.Create(globals, terminal));
        root.Add(PricesCommand.Create(globals, terminal));
        root.Add(MetersCommand.Create(globals, terminal));
        root.Add(AlertsCommand.Create(globals, terminal));
        root.Add(ExportCommand.Create(globals, terminal));
        root.Add(ReconcileCommand.Create(globals, terminal));
        root.Add(AllocationCommand.Create(globals, terminal));
        root.Add(KeysCommand.Create(globals, terminal));
        root.Add(AuditCommand.Create(globals, terminal));
        foreach (var command in AdmissionCommands.Create(globals, terminal)) root.Add(command);
        root.Add(BenchCommand.Create(globals, terminal));

        var parse = root.Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors) PrintError(terminal, error.Message);
            terminal.Error.MarkupLine($"[grey]see: budgetctl {Markup.Escape(string.Join(' ', CommandPath(parse)))} --help[/]");
            return Usage;
        }

        try
        {
            // Our own handler below: the default one prints stack traces for what are ordinary, expected failures.
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = terminal.OutWriter,
                Error = terminal.ErrorWriter,
                EnableDefaultExceptionHandler = false,
            });
        }
        catch (RpcException e) when (IsUnreachable(e))
        {
            var server = parse.GetValue(globals.Server)?.ToString().TrimEnd('/');
            PrintError(terminal, $"cannot reach BudgetGrains at {server}: is the silo running? (start it with: dotnet run --project src/BudgetGrains.Server)");
            return Failed;
        }
        catch (RpcException e)
        {
            PrintError(terminal, $"{e.Status.Detail} ({e.StatusCode})");
            return Failed;
        }
    }

    internal static void PrintError(Terminal terminal, string message) =>
        terminal.Error.MarkupLine($"[red]error: {Markup.Escape(message)}[/]");

    /// <summary>"budgets set" for `budgetctl budgets set ...`, so the hint points at the right help page.</summary>
    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new Stack<string>();
        for (var result = parse.CommandResult; result.Parent is CommandResult parent; result = parent)
        {
            names.Push(result.Command.Name);
        }

        return names;
    }

    /// <summary>A refused or failed connection, as opposed to a server that answered UNAVAILABLE itself.</summary>
    private static bool IsUnreachable(RpcException e)
    {
        if (e.StatusCode != StatusCode.Unavailable) return false;
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException or HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }) return true;
        }

        return false;
    }
}
