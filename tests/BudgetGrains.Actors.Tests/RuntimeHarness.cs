using BudgetGrains.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace BudgetGrains.Actors.Tests;

/// <summary>A fresh temporary directory per test class, deleted at the end.</summary>
public sealed class TempDirectoryFixture : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("budgetgrains-actors-").FullName;

    public string NewDatabasePath() => System.IO.Path.Combine(Path, $"{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}

/// <summary>A runtime with every test grain registered, over a given storage.</summary>
public sealed class RuntimeHarness : IAsyncDisposable
{
    private readonly IAsyncDisposable? _ownedStorage;

    public RuntimeHarness(IGrainStorage storage, ActorRuntimeOptions? options = null, TimeProvider? clock = null, ActivationLog? log = null)
    {
        Log = log ?? new ActivationLog();
        Storage = storage;
        _ownedStorage = storage as IAsyncDisposable;
        var services = new ServiceCollection().AddLogging().AddSingleton(Log).BuildServiceProvider();
        Runtime = new ActorRuntime(options ?? new ActorRuntimeOptions(), storage, services, clock)
            .AddGrain<ICounterGrain, CounterGrain>()
            .AddGrain<ITurnProbeGrain, TurnProbeGrain>()
            .AddGrain<IParallelGrain, ParallelGrain>();
    }

    public ActorRuntime Runtime { get; }

    public IGrainStorage Storage { get; }

    public ActivationLog Log { get; }

    public static RuntimeHarness OnSqlite(string databasePath, ActorRuntimeOptions? options = null, TimeProvider? clock = null, params ISqliteJournalHandler[] handlers)
        => new(new SqliteGrainStorage(databasePath, handlers), options, clock);

    /// <summary>Waits for an effect of background work (deactivation runs on the thread pool).</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for: {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Waits until the activations have finished their bookkeeping for the given number of turns: a caller's task
    /// completes inside the turn, slightly before the activation records the turn's end (its idle clock).
    /// </summary>
    public Task TurnsSettledAsync(long turns) =>
        EventuallyAsync(() => Runtime.GetStatistics().TurnsCompleted == turns, $"{turns} turns completed");

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        if (_ownedStorage is not null)
        {
            await _ownedStorage.DisposeAsync();
        }
    }
}

/// <summary>Storage that fails every batch while <see cref="Failing"/> is set and keeps the rest in memory.</summary>
public sealed class FlakyStorage : IGrainStorage
{
    private readonly Dictionary<GrainId, byte[]> _states = [];

    public volatile bool Failing;

    public Task<byte[]?> ReadStateAsync(GrainId grain, CancellationToken cancellationToken)
    {
        lock (_states)
        {
            return Task.FromResult(_states.GetValueOrDefault(grain));
        }
    }

    public Task WriteBatchAsync(IReadOnlyList<StateWrite> batch, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            throw new IOException("disk unplugged");
        }
        lock (_states)
        {
            foreach (var write in batch)
            {
                if (write.State is not null)
                {
                    _states[write.Grain] = write.State;
                }
            }
        }
        return Task.CompletedTask;
    }
}

/// <summary>Passes through to real storage and records the size of every batch.</summary>
public sealed class RecordingStorage(SqliteGrainStorage inner) : IGrainStorage, IAsyncDisposable
{
    private int _maxBatch;
    private int _batches;

    public SqliteGrainStorage Inner => inner;

    public int MaxBatch => Volatile.Read(ref _maxBatch);

    public int Batches => Volatile.Read(ref _batches);

    public Task<byte[]?> ReadStateAsync(GrainId grain, CancellationToken cancellationToken) => inner.ReadStateAsync(grain, cancellationToken);

    public Task WriteBatchAsync(IReadOnlyList<StateWrite> batch, CancellationToken cancellationToken)
    {
        // One writer calls this at a time, so plain updates are enough.
        _maxBatch = Math.Max(_maxBatch, batch.Count);
        _batches++;
        return inner.WriteBatchAsync(batch, cancellationToken);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
