using System.CommandLine;
using System.CommandLine.Parsing;

namespace BudgetGrains.Cli;

/// <summary>Options every command accepts; one instance per parse, as System.CommandLine symbols keep their parents.</summary>
internal sealed class GlobalOptions
{
    public Option<Uri> Server { get; } = new("--server")
    {
        Description = $"The silo's URL; the default comes from ${ServerAddress.EnvironmentVariable}, else {ServerAddress.Local}",
        HelpName = "url",
        Recursive = true,
        CustomParser = result => Parse(result, result.Tokens[0].Value),
        DefaultValueFactory = result => Parse(result, ServerAddress.Default(Environment.GetEnvironmentVariable(ServerAddress.EnvironmentVariable))),
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Machine-readable output: each result as a protobuf JSON object on its own line (amounts in nanos)",
        Recursive = true,
    };

    public void AddTo(RootCommand root)
    {
        root.Add(Server);
        root.Add(Json);
    }

    /// <summary>The connection and output a command action works with.</summary>
    public Session Open(ParseResult parse, Terminal terminal) =>
        new(parse.GetRequiredValue(Server), new Output(terminal, parse.GetValue(Json)));

    private static Uri Parse(ArgumentResult result, string text)
    {
        if (ServerAddress.TryParse(text, out var address)) return address;
        result.AddError($"'{text}' is not a server URL: write it like {ServerAddress.Local}");
        return null!;
    }
}
