using BudgetGrains.Server.Hosting;

// The silo executable: settings from appsettings.json, BudgetGrains__* environment variables and the command line
// (Hosting/CommandLine.cs); the silo itself lives in Hosting/Silo.cs. A start-up failure is one "error:" line, exit 1.
var command = CommandLine.Parse(args, AppContext.BaseDirectory);
if (command.Help)
{
    Console.WriteLine(CommandLine.HelpText);
    return 0;
}
if (command.Error is { } error)
{
    Console.Error.WriteLine($"error: {error}");
    return 1;
}

await using var silo = await SiloRunner.StartOrExplainAsync(command.Options!, command.Logging!);
if (silo is null) return 1;
await silo.WaitForShutdownAsync();
return 0;
