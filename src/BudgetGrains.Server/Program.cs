using BudgetGrains.Server.Hosting;

// The silo executable: settings from appsettings.json, BudgetGrains__* environment variables and
// the command line; the silo itself lives in Hosting/Silo.cs.
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("""
        BudgetGrains silo: real-time AI spend budgets over gRPC, and its management API as REST/JSON.

        Usage: BudgetGrains.Server [--listen 127.0.0.1:5080] [--http 127.0.0.1:5081|none] [--data-dir ./data]
                                   [--tls-cert file.pfx --tls-password pw]
                                   [--storage sqlite|postgres --postgres 'Host=...;Database=...']

        Every setting can also be given in appsettings.json (section "BudgetGrains") or as an
        environment variable, e.g. BudgetGrains__Listen=0.0.0.0:5080. See docs/configuration.md.
        """);
    return 0;
}

var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: true)
    .AddEnvironmentVariables()
    .AddCommandLine(args, new Dictionary<string, string>
    {
        ["--listen"] = "BudgetGrains:Listen",
        ["--http"] = "BudgetGrains:Http",
        ["--data-dir"] = "BudgetGrains:DataDir",
        ["--storage"] = "BudgetGrains:Storage",
        ["--postgres"] = "BudgetGrains:PostgresConnectionString",
        ["--tls-cert"] = "BudgetGrains:TlsCertificatePath",
        ["--tls-password"] = "BudgetGrains:TlsCertificatePassword",
        ["--max-message-bytes"] = "BudgetGrains:MaxMessageBytes",
    })
    .Build();
var options = configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();

await using var silo = await SiloRunner.StartOrExplainAsync(options, configuration.GetSection("Logging"));
if (silo is null) return 1;
await silo.WaitForShutdownAsync();
return 0;
