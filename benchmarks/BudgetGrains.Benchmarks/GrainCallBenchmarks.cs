using BenchmarkDotNet.Attributes;
using BudgetGrains.Actors;
using BudgetGrains.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace BudgetGrains.Benchmarks;

/// <summary>The runtime's own costs, apart from the budget domain: one call, one durable write, group-committed writes.</summary>
[MemoryDiagnoser]
public class GrainCallBenchmarks
{
    private const int ConcurrentWrites = 1000;
    private const int ConcurrentCalls = 1000;
    private const int Callers = 64;

    private string _dataDir = "";
    private SqliteGrainStorage _storage = null!;
    private ActorRuntime _runtime = null!;
    private ServiceProvider _services = null!;
    private ICounterGrain _grain = null!;
    private ICounterGrain[] _grains = [];

    // Synchronous: the in-process toolchain does not await an async [GlobalSetup] before the first iteration.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _dataDir = Path.Combine(Path.GetTempPath(), $"budgetgrains-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dataDir);
        _storage = new SqliteGrainStorage(Path.Combine(_dataDir, "grains.db"), []);
        _services = new ServiceCollection().BuildServiceProvider();
        _runtime = new ActorRuntime(new ActorRuntimeOptions(), _storage, _services).AddGrain<ICounterGrain, CounterGrain>();
        _grain = _runtime.GetGrain<ICounterGrain>("single");
        _grains = Enumerable.Range(0, Callers).Select(i => _runtime.GetGrain<ICounterGrain>($"g{i}")).ToArray();
        // Activate them all now, so the benchmarks measure calls into live activations.
        await _grain.PeekAsync();
        foreach (var grain in _grains) await grain.PeekAsync();
    }

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    private async Task CleanupAsync()
    {
        await _runtime.DisposeAsync();
        await _storage.DisposeAsync();
        await _services.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    /// <summary>One call into an idle, live activation: proxy, mailbox, turn, and the answer back.</summary>
    [Benchmark]
    public Task<long> Call() => _grain.PeekAsync();

    /// <summary>
    /// Calls from 64 callers at once into that one activation, so its mailbox is never empty: per call, what a
    /// queued call costs (the turn after turn of a hot scope), against <see cref="Call"/> into an idle one.
    /// </summary>
    [Benchmark(OperationsPerInvoke = ConcurrentCalls)]
    public async Task CallBusy()
    {
        var remaining = ConcurrentCalls;
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(async _ =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0) await _grain.PeekAsync();
        }));
    }

    /// <summary>One durable state write, alone: a whole SQLite transaction and its fsync.</summary>
    [Benchmark]
    public Task<long> DurableWrite() => _grain.IncrementAsync();

    /// <summary>Writes from 64 grains at once: the group-commit writer puts many in one transaction.</summary>
    [Benchmark(OperationsPerInvoke = ConcurrentWrites)]
    public async Task GroupCommittedWrites()
    {
        var remaining = ConcurrentWrites;
        await Task.WhenAll(_grains.Select(async grain =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0) await grain.IncrementAsync();
        }));
    }
}

public interface ICounterGrain : IGrain
{
    Task<long> PeekAsync();

    Task<long> IncrementAsync();
}

public sealed class CounterState
{
    public long Value { get; set; }
}

[GrainType("bench-counter")]
public sealed class CounterGrain : Grain<CounterState>, ICounterGrain
{
    public Task<long> PeekAsync() => Task.FromResult(State.Value);

    public async Task<long> IncrementAsync()
    {
        State.Value++;
        await WriteStateAsync();
        return State.Value;
    }
}
