using Spectre.Console;

namespace BudgetGrains.Cli;

/// <summary>Where the CLI writes: Spectre consoles for people, the raw writers for JSON lines and help text.</summary>
/// <remarks>The error console never wraps: an error is one line, whatever the terminal's width.</remarks>
internal sealed record Terminal(IAnsiConsole Out, IAnsiConsole Error, TextWriter OutWriter, TextWriter ErrorWriter)
{
    private const int Wide = 250;
    private const int NoWrap = 4096;

    /// <summary>No colors, no ANSI codes and wide lines, so tests (and pipes) see plain, unwrapped text.</summary>
    public static Terminal Plain(TextWriter stdout, TextWriter stderr) =>
        new(Create(stdout, interactive: false, Wide), Create(stderr, interactive: false, NoWrap), stdout, stderr);

    /// <summary>
    /// The process's console: colors and the terminal's width when it is one; plain, wide text when piped
    /// (a file, grep, a CI log), where escape codes are noise and 80 imagined columns would wrap every table.
    /// </summary>
    public static Terminal System() =>
        new(Create(Console.Out, !Console.IsOutputRedirected, Console.IsOutputRedirected ? Wide : null),
            Create(Console.Error, !Console.IsErrorRedirected, NoWrap),
            Console.Out, Console.Error);

    private static IAnsiConsole Create(TextWriter writer, bool interactive, int? width)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (width is { } w) console.Profile.Width = w;
        return console;
    }
}
