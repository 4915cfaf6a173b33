using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace BudgetGrains.Server.Hosting;

/// <summary>One flag of the executable and the setting it stands for.</summary>
internal sealed record CommandLineFlag(string Name, string Setting, string Value, string Help);

/// <summary>What the command line asks for: the help text, a start with these settings, or nothing but an error line.</summary>
internal sealed record SiloCommand(bool Help, string? Error, SiloOptions? Options, IConfiguration? Logging);

/// <summary>
/// The executable's arguments and settings: appsettings.json (section "BudgetGrains"), BudgetGrains__* environment
/// variables and the command line, later winning. Unknown flags, flags without a value, unknown settings and values of
/// the wrong type are refused with one line naming them (docs/decisions/0016-start-up-errors.md), not ignored.
/// </summary>
internal static partial class CommandLine
{
    public static readonly IReadOnlyList<CommandLineFlag> Flags =
    [
        new("--listen", "Listen", "ADDRESS:PORT", "gRPC endpoint (default 127.0.0.1:5080; port 0 = any free port)"),
        new("--http", "Http", "ADDRESS:PORT|none", "REST/JSON endpoint under /api/v1/ (default: --listen's address, next port)"),
        new("--data-dir", "DataDir", "DIR", "data directory of the embedded store, one silo at a time (default ./data)"),
        new("--storage", "Storage", "sqlite|postgres", "the journal's store: sqlite in --data-dir (default), or postgres"),
        new("--postgres", "PostgresConnectionString", "CONNECTION-STRING", "Npgsql connection string of the journal's database (--storage postgres)"),
        new("--cluster", "Cluster", "true|false", "join the Orleans cluster whose membership is in the --postgres database"),
        new("--cluster-id", "ClusterId", "NAME", "the cluster's name in the membership table (default budgetgrains)"),
        new("--silo-port", "SiloPort", "PORT", "Orleans silo-to-silo port (default 0 = any free port)"),
        new("--silo-address", "SiloAddress", "ADDRESS", "the address other silos reach this one on (default 127.0.0.1)"),
        new("--gateway-port", "GatewayPort", "PORT", "Orleans gateway port for Orleans clients in a cluster (default 0 = none)"),
        new("--membership", "Membership", "postgres|azure", "where a cluster's membership table is: the --postgres database (default) or Azure Table storage"),
        new("--grain-storage", "GrainStorage", "journal|azure-blob|azure-table", "Orleans grain storage of the state admission does not write (default journal)"),
        new("--azure-storage", "AzureStorageConnectionString", "CONNECTION-STRING", "Azure Storage connection string (--membership azure, --grain-storage azure-*)"),
        new("--kubernetes", "Kubernetes", "true|false", "run as a Kubernetes pod: Orleans' Kubernetes hosting (POD_NAME, POD_NAMESPACE, POD_IP; needs --cluster)"),
        new("--tls-cert", "TlsCertificatePath", "FILE", "serve gRPC and REST over TLS: a PEM certificate (with --tls-key) or PKCS#12 file"),
        new("--tls-key", "TlsKeyPath", "FILE.pem", "the PEM private key of a PEM --tls-cert"),
        new("--tls-password", "TlsCertificatePassword", "PASSWORD", "the PKCS#12 certificate's password"),
        new("--tls-client-ca", "TlsClientCaPath", "FILE.pem", "require client certificates issued by this CA (mTLS)"),
        new("--auth", "Auth:Mode", "required|off", "API keys required, or off (default: off only when every listener is loopback)"),
        new("--admin-key-file", "Auth:AdminKeyFile", "FILE", "bootstrap admin key; created with a new key (mode 0600) if missing"),
        new("--max-message-bytes", "MaxMessageBytes", "BYTES", "largest gRPC message or REST body (default 4194304)"),
    ];

    /// <summary>Configuration sections a <c>--Section:Key=value</c> argument may set.</summary>
    private static readonly string[] Sections = [SiloOptions.Section, "Logging"];

    public static string HelpText =>
        $"""
        BudgetGrains silo: real-time AI spend budgets over gRPC, and its management API as REST/JSON.

        Usage: BudgetGrains.Server [options]

        Options:
        {string.Join("\n", Flags.Select(f => $"  {f.Name + " " + f.Value,-36} {f.Help}"))}
          {"--BudgetGrains:<Setting>=<value>",-36} any other setting, e.g. --BudgetGrains:StatisticsInterval=00:00:00
          {"--Logging:<Key>=<value>",-36} logging, e.g. --Logging:LogLevel:Default=Warning
          {"-h, --help",-36} show this text

        Every setting can also be given in appsettings.json (section "BudgetGrains") or as an
        environment variable, e.g. BudgetGrains__Listen=0.0.0.0:5080. See docs/configuration.md.
        """;

    /// <summary>Reads the settings; never throws for a bad argument or setting, it says what is wrong instead.</summary>
    public static SiloCommand Parse(string[] args, string basePath)
    {
        if (args.Any(a => a is "--help" or "-h" or "/?")) return new(true, null, null, null);
        if (CheckArguments(args) is { } argumentError) return new(false, argumentError, null, null);

        IConfigurationRoot configuration;
        try
        {
            configuration = new ConfigurationBuilder()
                .SetBasePath(basePath)
                .AddJsonFile("appsettings.json", optional: true)
                .AddEnvironmentVariables()
                .AddCommandLine(args, Flags.ToDictionary(f => f.Name, f => $"{SiloOptions.Section}:{f.Setting}", StringComparer.Ordinal))
                .Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException)
        {
            return new(false, $"cannot read {Path.Combine(basePath, "appsettings.json")}: {e.Message}", null, null);
        }

        try
        {
            var options = configuration.GetSection(SiloOptions.Section).Get<SiloOptions>(binder => binder.ErrorOnUnknownConfiguration = true)
                ?? new SiloOptions();
            return new(false, null, options, configuration.GetSection("Logging"));
        }
        catch (InvalidOperationException e)
        {
            return new(false, Explain(e, configuration), null, null);
        }
    }

    /// <summary>Every argument is a known flag with its value, a --Section:Key setting, or Section:Key=value.</summary>
    private static string? CheckArguments(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var name = arg.Split('=', 2)[0];
            var hasValue = arg.Contains('=', StringComparison.Ordinal);
            if (Flags.Any(f => f.Name.Equals(name, StringComparison.Ordinal)) || IsSetting(name.TrimStart('-', '/')) && name.StartsWith("--", StringComparison.Ordinal))
            {
                if (hasValue) continue;
                if (i + 1 >= args.Length || Flags.Any(f => f.Name == args[i + 1]) || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    return $"option {name} needs a value, e.g. {name} {Flags.FirstOrDefault(f => f.Name == name)?.Value ?? "VALUE"} (see --help)";
                i++;
                continue;
            }
            if (!arg.StartsWith('-') && hasValue && IsSetting(name)) continue;
            return arg.StartsWith('-') || arg.StartsWith('/')
                ? $"unknown option {name}{Suggestion(name)}; the options are {string.Join(", ", Flags.Select(f => f.Name))} and --BudgetGrains:<Setting>=<value> (see --help)"
                : $"unexpected argument '{arg}'; options start with -- (see --help)";
        }
        return null;
    }

    private static bool IsSetting(string key) =>
        Sections.Any(s => key.StartsWith(s + ":", StringComparison.OrdinalIgnoreCase) && key.Length > s.Length + 1);

    private static string Suggestion(string name)
    {
        var closest = Flags.Select(f => (f.Name, Distance: Distance(f.Name, name.ToLowerInvariant()))).MinBy(f => f.Distance);
        return closest.Distance <= 2 ? $" (did you mean {closest.Name}?)" : "";
    }

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }

    /// <summary>The binder's message turned into one naming the setting, where it came from and its value.</summary>
    private static string Explain(InvalidOperationException e, IConfigurationRoot configuration)
    {
        // Inside a dictionary of objects (Prices:<model>, DefaultBudgets:<kind>) the binder wraps the message that names
        // the key in a generic one.
        while (e.InnerException is InvalidOperationException inner) e = inner;
        if (ConversionFailure().Match(e.Message) is { Success: true } conversion)
        {
            var path = conversion.Groups["path"].Value;
            var type = conversion.Groups["type"].Value;
            return $"{SourceOf(path, configuration)} has the value '{configuration[path]}', which is not {Describe(type)}";
        }
        if (UnknownKeys().Match(e.Message) is { Success: true } unknown)
        {
            var type = unknown.Groups["type"].Value.Split('.').Last();
            var section = type switch
            {
                nameof(SiloOptions) => SiloOptions.Section + ":",
                nameof(AlertOptions) => SiloOptions.Section + ":Alerts:",
                nameof(WebhookOptions) => SiloOptions.Section + ":Alerts:Webhooks:N:",
                nameof(PriceOptions) => SiloOptions.Section + ":Prices:<model>:",
                nameof(Auth.AuthOptions) => SiloOptions.Section + ":Auth:",
                nameof(DefaultBudgetOptions) => SiloOptions.Section + ":DefaultBudgets:<kind>:",
                nameof(Observability.TelemetryOptions) => SiloOptions.Section + ":Telemetry:",
                _ => type + ".",
            };
            var keys = unknown.Groups["keys"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(k => k.Trim('\'')).ToList();
            var known = type == nameof(SiloOptions) ? typeof(SiloOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToList() : [];
            var closest = keys.Count == 1 && known.Count > 0 ? known.MinBy(k => Distance(k.ToLowerInvariant(), keys[0].ToLowerInvariant())) : null;
            var hint = closest is not null && Distance(closest.ToLowerInvariant(), keys[0].ToLowerInvariant()) <= 2 ? $" (did you mean {section}{closest}?)" : "";
            return $"unknown setting {string.Join(", ", keys.Select(k => section + k))}{hint}; see docs/configuration.md for the settings";
        }
        return e.Message;
    }

    /// <summary>"--max-message-bytes", "environment variable BudgetGrains__MaxMessageBytes" or "BudgetGrains:MaxMessageBytes in appsettings.json".</summary>
    private static string SourceOf(string path, IConfigurationRoot configuration)
    {
        var provider = configuration.Providers.Reverse().FirstOrDefault(p => p.TryGet(path, out _));
        var flag = Flags.FirstOrDefault(f => $"{SiloOptions.Section}:{f.Setting}".Equals(path, StringComparison.OrdinalIgnoreCase));
        return provider switch
        {
            CommandLineConfigurationProvider when flag is not null => $"option {flag.Name} ({path})",
            CommandLineConfigurationProvider => $"option --{path}",
            EnvironmentVariablesConfigurationProvider => $"environment variable {path.Replace(":", "__", StringComparison.Ordinal)}",
            _ => $"setting {path} in appsettings.json",
        };
    }

    private static string Describe(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.TimeSpan" => "a duration such as 00:00:05",
        "System.Boolean" => "true or false",
        _ => $"a {type.Split('.').Last()}",
    };

    [GeneratedRegex(@"Failed to convert configuration value (?:'.*' )?at '(?<path>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex ConversionFailure();

    [GeneratedRegex(@"properties were not found on the instance of (?<type>[^:]+): (?<keys>.+)$")]
    private static partial Regex UnknownKeys();
}
