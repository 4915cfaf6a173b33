namespace BudgetGrains.Cli;

/// <summary>Resolves the silo's address from <c>--server</c>, <c>BUDGETGRAINS_SERVER</c> or the local default.</summary>
public static class ServerAddress
{
    /// <summary>The environment variable that overrides the default address.</summary>
    public const string EnvironmentVariable = "BUDGETGRAINS_SERVER";

    /// <summary>Where <c>dotnet run --project src/BudgetGrains.Server</c> listens.</summary>
    public const string Local = "http://127.0.0.1:5080";

    /// <summary>The address to use when <c>--server</c> is not given: <paramref name="environmentValue"/> when set, else <see cref="Local"/>.</summary>
    public static string Default(string? environmentValue) =>
        string.IsNullOrWhiteSpace(environmentValue) ? Local : environmentValue.Trim();

    /// <summary>Parses an http(s) URL; a bare "host:port" means cleartext http, as the silo's own --listen is written.</summary>
    public static bool TryParse(string text, out Uri address)
    {
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        if (Uri.TryCreate(withScheme, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" && parsed.Host.Length > 0)
        {
            address = parsed;
            return true;
        }

        address = null!;
        return false;
    }
}
