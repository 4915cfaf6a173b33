using System.CommandLine;
using BudgetGrains.Load;

namespace BudgetGrains.Cli.Commands;

/// <summary>
/// <c>budgetctl bench</c>: the load generator's core (src/BudgetGrains.Load) against <c>--server</c>.
/// The options are passed on as the load generator's own command line, so its defaults and checks stay in one place.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The run's scopes are */budgetctl-bench-&lt;run id&gt;: clearly the benchmark's, never an existing budget.</summary>
    public const string ScopePrefix = "budgetctl-bench";

    public static Command Create(GlobalOptions globals, Terminal terminal)
    {
        Option<string>[] forwarded =
        [
            new("--scenario") { Description = "reserve | reserve-commit | reserve-release | check | deny [default: reserve]", HelpName = "name" },
            new("--topology") { Description = "hot-root (one shared chain) | tenants (a chain per caller) [default: hot-root]", HelpName = "name" },
            new("--chain-length") { Description = "1..8 named budgets b1 -> ... -> bL [default: the 5-scope attribution chain]", HelpName = "n" },
            new("--callers") { Description = "Concurrent callers [default: 64]", HelpName = "n" },
            new("--duration") { Description = "Measured seconds [default: 10]", HelpName = "seconds" },
            new("--count") { Description = "Stop after this many measured operations", HelpName = "n" },
            new("--warmup") { Description = "Unmeasured warm-up seconds [default: 2]", HelpName = "seconds" },
            new("--channels") { Description = "gRPC channels the callers are spread over [default: 1]", HelpName = "n" },
            new("--deny-admits") { Description = "deny scenario: reserves the exhausted scope admits [default: 1000]", HelpName = "n" },
        ];
        var keep = new Option<bool>("--keep") { Description = "Keep the run's budgets (*/budgetctl-bench-<run id>) instead of removing them at the end" };
        var command = new Command("bench", "Load the silo with concurrent callers over gRPC (loopback only), print throughput and latency, then check the " +
            "invariants (exits 1 if one fails). It works on scopes of its own, */budgetctl-bench-<run id>, and removes their budgets at the end " +
            "unless --keep; their spend history stays in the store");
        foreach (var option in forwarded) command.Add(option);
        command.Add(keep);
        command.SetAction(async parse =>
        {
            var server = parse.GetRequiredValue(globals.Server);
            var args = forwarded
                .Where(option => parse.GetValue(option) is not null)
                .SelectMany(option => new[] { option.Name, parse.GetValue(option)! })
                .Append("--server").Append(server.ToString())
                .ToArray();
            var options = LoadOptions.Parse(args, out var error);
            if (options is null)
            {
                terminal.ErrorWriter.WriteLine($"error: {error}");
                return Cli.Usage;
            }
            var settings = new RunSettings(ScopePrefix, RemoveBudgets: !parse.GetValue(keep));
            var report = await LoadTest.RunAsync(options, server, new SiloView("external"), terminal.OutWriter, settings);
            return report.Passed ? Cli.Ok : Cli.Failed;
        });
        return command;
    }
}
