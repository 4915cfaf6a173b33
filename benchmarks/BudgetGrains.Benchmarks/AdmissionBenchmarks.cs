using BenchmarkDotNet.Attributes;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Benchmarks;

/// <summary>
/// Reserve + commit pairs through the AdmissionApi, no network, on the durable SQLite store. Many pairs run
/// at once so the group-commit writer batches them, as it does under real load; one chain, so its scopes are hot.
/// </summary>
[MemoryDiagnoser]
public class AdmissionBenchmarks
{
    private const int Pairs = 1000;
    private const int Concurrency = 64;
    private const long EstimateNanos = 1_000_000;

    private string _dataDir = "";
    private Silo _silo = null!;
    private AdmissionApi _admission = null!;
    private Attribution _attribution = null!;
    private long _nextId;

    /// <summary>Scopes in the admission chain: named budgets b1 → ... → bL.</summary>
    [Params(1, 5, 8)]
    public int ChainLength { get; set; }

    // Synchronous: the in-process toolchain does not await an async [GlobalSetup] before the first iteration.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _dataDir = Path.Combine(Path.GetTempPath(), $"budgetgrains-bench-{Guid.NewGuid():N}");
        _silo = await Silo.StartAsync(new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir },
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        _admission = new AdmissionApi(_silo.Grains, PriceCatalog.Empty);
        var budgets = new BudgetAdministration(_silo.Grains, _silo.Store);
        for (var i = ChainLength; i >= 1; i--)
        {
            var parent = i == ChainLength ? "" : $"budget/b{i + 1}";
            var created = await budgets.UpsertAsync(new BudgetSettings($"budget/b{i}", 1_000_000_000_000_000, BudgetPeriod.None, [], parent, false, "USD"));
            if (!created.IsSuccess) throw new InvalidOperationException(created.Failure!.Message);
        }
        _attribution = new Attribution(Budgets: ["b1"]);
    }

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    private async Task CleanupAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Pairs)]
    public async Task ReserveCommitPairs()
    {
        var remaining = Pairs;
        var workers = new Task[Concurrency];
        for (var w = 0; w < workers.Length; w++) workers[w] = Worker();
        await Task.WhenAll(workers);

        async Task Worker()
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                var id = "p" + Interlocked.Increment(ref _nextId);
                var reserved = await _admission.ReserveAsync(new ReserveCommand(id, _attribution, EstimateNanos, null, default, 0));
                if (reserved.Value is not { Admitted: true }) throw new InvalidOperationException($"reserve {id} was not admitted: {reserved.Failure?.Message}");
                var committed = await _admission.CommitAsync(new CommitCommand(id, EstimateNanos, null, "resolved"));
                if (!committed.IsSuccess) throw new InvalidOperationException($"commit {id} failed: {committed.Failure!.Message}");
            }
        }
    }
}
