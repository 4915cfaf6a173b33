using System.Globalization;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Load;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var options = LoadOptions.Parse(args, out var error);
if (options is null)
{
    if (error!.Length > 0) Console.Error.WriteLine(error);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}
options = options with { MaxOpenHoldsPerScope = Limits.MaxOpenHoldsPerScope };

if (options.EmitCheckBody is { } bodyPath)
{
    await CheckBody.WriteAsync(bodyPath, options.BodyKey, options.Server);
    return 0;
}

// Bounded whatever happens: a run that hangs (a lost response, a stuck silo) ends the process.
var deadline = options.Warmup + options.Duration + TimeSpan.FromMinutes(3);
_ = Task.Delay(deadline).ContinueWith(_ =>
{
    Console.Error.WriteLine($"load generator did not finish within {deadline.TotalSeconds:F0} s; giving up");
    Environment.Exit(3);
}, TaskScheduler.Default);

if (options.Servers.Count > 0)
{
    var kind = options.Servers.Count == 1 ? "external" : $"{options.Servers.Count} external";
    var report = await LoadTest.RunAsync(options, options.Servers, new SiloView(kind, ProcessIds: options.ServerPids), Console.Out, new RunSettings());
    return report.Passed ? 0 : 1;
}

var dataDir = Path.Combine(Path.GetTempPath(), $"budgetgrains-loadgen-{Guid.NewGuid().ToString("N")[..8]}");
var silo = await Silo.StartAsync(new SiloOptions { Listen = "127.0.0.1:0", DataDir = dataDir },
    logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
try
{
    var view = new SiloView("in-process", new StoreCounters(silo.Store), () =>
    {
        var s = silo.Journal.Statistics;
        return new SiloSample(s.Batches, s.Writes);
    });
    var report = await LoadTest.RunAsync(options, silo.Address, view, Console.Out);
    return report.Passed ? 0 : 1;
}
finally
{
    await silo.DisposeAsync();
    Directory.Delete(dataDir, recursive: true);
}

/// <summary>The in-process silo's store, as the invariant checks read it.</summary>
internal sealed class StoreCounters(IBudgetStore store) : IDurableCounters
{
    public async Task<IReadOnlyDictionary<string, DurableScope>> ReadAllCountersAsync() =>
        (await store.ReadAllCountersAsync(CancellationToken.None))
            .ToDictionary(kv => kv.Key, kv => new DurableScope(kv.Value.SpentNanos, kv.Value.HeldNanos, kv.Value.OpenHolds));

    public Task<IReadOnlyDictionary<string, long>> SumLedgerByScopeAsync() => store.SumLedgerByScopeAsync(CancellationToken.None);
}
