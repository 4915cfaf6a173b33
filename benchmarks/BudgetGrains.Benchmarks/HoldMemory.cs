using System.Diagnostics;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Benchmarks;

/// <summary>
/// Memory of a silo with many idle scopes and many open holds (issue 12): an in-process silo on a temporary SQLite
/// directory; <c>scopes</c> tenant budgets, each activated by a check (idle: no holds), then <c>holds</c> reserves
/// spread over the tenants and 100 features, left open (TTL one hour). Prints the managed heap after a full
/// collection, and the process' resident memory, after each step, and the bytes per idle scope and per open hold.
///
///   dotnet run -c Release --project benchmarks/BudgetGrains.Benchmarks -- memory [holds, default 1000000] [scopes, default 100000]
/// </summary>
internal static class HoldMemory
{
    private const int Features = 100;
    private const int Concurrency = 128;

    public static async Task<int> RunAsync(int holds, int scopes)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"budgetgrains-memory-{Guid.NewGuid():N}");
        await using var silo = await Silo.StartAsync(new SiloOptions { Listen = "127.0.0.1:0", DataDir = dataDir },
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        try
        {
            var admission = new AdmissionApi(silo.Grains, PriceCatalog.Empty);
            var budgets = new BudgetAdministration(silo.Grains, silo.Store);
            var start = Measure("silo started", null);

            var watch = Stopwatch.StartNew();
            await ForEachAsync(scopes, async i =>
            {
                var scope = $"tenant/t{i}";
                var set = await budgets.UpsertAsync(new BudgetSettings(scope, 1_000_000_000_000, BudgetPeriod.Month, [], "", false, "USD"));
                if (!set.IsSuccess) throw new InvalidOperationException(set.Failure!.Message);
                var checkedScope = await admission.CheckAsync(new CheckCommand(new Attribution(Tenant: $"t{i}"), 1_000, null, default));
                if (checkedScope.Value is not { Admitted: true }) throw new InvalidOperationException($"check on {scope} was not admitted");
            });
            var withScopes = Measure($"{scopes:N0} idle scopes ({watch.Elapsed.TotalSeconds:F0} s)", start);

            watch.Restart();
            await ForEachAsync(holds, async i =>
            {
                var attribution = new Attribution(Tenant: $"t{i % scopes}", Feature: $"f{i % Features}");
                var reserved = await admission.ReserveAsync(new ReserveCommand($"h{i}", attribution, 1_000, null, default, Grains.Limits.MaxHoldTtlMs));
                if (reserved.Value is not { Admitted: true }) throw new InvalidOperationException($"reserve h{i} was not admitted: {reserved.Failure?.Message}");
            });
            var withHolds = Measure($"{holds:N0} open holds ({watch.Elapsed.TotalSeconds:F0} s, {holds / watch.Elapsed.TotalSeconds:N0}/s)", withScopes);

            Console.WriteLine();
            Console.WriteLine($"per idle scope: {(withScopes.Heap - start.Heap) / (double)scopes:N0} B managed heap, {(withScopes.Rss - start.Rss) / (double)scopes:N0} B resident");
            Console.WriteLine($"per open hold (with its tracking on 2 scopes): {(withHolds.Heap - withScopes.Heap) / (double)holds:N0} B managed heap, " +
                $"{(withHolds.Rss - withScopes.Rss) / (double)holds:N0} B resident");
            Console.WriteLine($"resident in all: {withHolds.Rss / (1024.0 * 1024 * 1024):F2} GiB");
            return 0;
        }
        finally
        {
            await silo.DisposeAsync();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task ForEachAsync(int count, Func<int, Task> action)
    {
        var next = -1;
        var workers = Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next)) await action(i);
        });
        await Task.WhenAll(workers);
    }

    private static (long Heap, long Rss) Measure(string step, (long Heap, long Rss)? before)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heap = GC.GetTotalMemory(forceFullCollection: false);
        var rss = Process.GetCurrentProcess().WorkingSet64;
        Console.WriteLine($"{step,-50} heap {heap / 1048576.0,8:N0} MiB   resident {rss / 1048576.0,8:N0} MiB" +
            (before is { } b ? $"   (+{(heap - b.Heap) / 1048576.0:N0} MiB heap)" : ""));
        return (heap, rss);
    }
}
