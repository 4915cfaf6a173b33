using Spectre.Console;

namespace BudgetGrains.Cli;

/// <summary>Where the CLI writes: Spectre consoles for people, the raw writers for JSON lines and help text.</summary>
/// <remarks>The error console never wraps: an error is one line, whatever the terminal's width.</remarks>
internal sealed record Terminal(IAnsiConsole Out, IAnsiConsole Error, TextWriter OutWriter, TextWriter ErrorWriter)
{
    private const int NoWrap = 4096;

    /// <summary>No colors, no ANSI codes and wide lines, so tests (and pipes) see plain, unwrapped text.</summary>
    public static Terminal Plain(TextWriter stdout, TextWriter stderr) =>
        new(Create(stdout, AnsiSupport.No, ColorSystemSupport.NoColors, width: 250),
            Create(stderr, AnsiSupport.No, ColorSystemSupport.NoColors, width: NoWrap),
            stdout, stderr);

    /// <summary>The process's console, with colors when the terminal supports them.</summary>
    public static Terminal System() =>
        new(Create(Console.Out, AnsiSupport.Detect, ColorSystemSupport.Detect, width: null),
            Create(Console.Error, AnsiSupport.Detect, ColorSystemSupport.Detect, width: NoWrap),
            Console.Out, Console.Error);

    private static IAnsiConsole Create(TextWriter writer, AnsiSupport ansi, ColorSystemSupport colors, int? width)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = ansi, ColorSystem = colors });
        if (width is { } w) console.Profile.Width = w;
        return console;
    }
}
