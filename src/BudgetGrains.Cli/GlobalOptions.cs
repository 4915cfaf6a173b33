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

    /// <summary>The environment variable with the API key when --api-key is not given.</summary>
    public const string ApiKeyVariable = "BUDGETGRAINS_API_KEY";

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = $"API key sent as authorization: Bearer <key>; the default comes from ${ApiKeyVariable} (prefer it: arguments show in ps)",
        HelpName = "key",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } key ? key.Trim() : null,
    };

    public Option<FileInfo?> CaFile { get; } = new("--ca-file")
    {
        Description = "PEM CA certificate to trust for an https:// server (e.g. the silo's self-signed certificate)",
        HelpName = "file.pem",
        Recursive = true,
    };

    public void AddTo(RootCommand root)
    {
        root.Add(Server);
        root.Add(Json);
        root.Add(ApiKey);
        root.Add(CaFile);
    }

    /// <summary>The connection and output a command action works with.</summary>
    public Session Open(ParseResult parse, Terminal terminal) =>
        new(parse.GetRequiredValue(Server), new Output(terminal, parse.GetValue(Json)), parse.GetValue(ApiKey), parse.GetValue(CaFile));

    private static Uri Parse(ArgumentResult result, string text)
    {
        if (ServerAddress.TryParse(text, out var address)) return address;
        result.AddError($"'{text}' is not a server URL: write it like {ServerAddress.Local}");
        return null!;
    }
}
