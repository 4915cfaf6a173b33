using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Storage.Sqlite;

namespace BudgetGrains.Benchmarks;

/// <summary>
/// One group-commit flush on the durable store: a batch of N state writes in one SQLite transaction and one fsync
/// (WAL, synchronous=FULL). The mean is per batch: divide by N for the cost of a write at that batch size.
/// </summary>
[MemoryDiagnoser]
public class GroupCommitFlushBenchmarks
{
    private string _dataDir = "";
    private SqliteJournalStore _storage = null!;
    private JournalWrite[] _batch = [];
    private byte[] _state = [];
    private long _flushes;

    [Params(1, 10, 100, 1000)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dataDir = Path.Combine(Path.GetTempPath(), $"budgetgrains-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dataDir);
        _storage = new SqliteJournalStore(Path.Combine(_dataDir, "grains.db"), []);
        // About the size of a scope's JSON state; the same keys every flush, so rows are updated, not added.
        _state = new byte[160];
        Random.Shared.NextBytes(_state);
        _batch = Enumerable.Range(0, BatchSize)
            .Select(i => new JournalWrite(new StateKey("bench-flush", $"scope-{i}"), _state, []))
            .ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    private async Task CleanupAsync()
    {
        await _storage.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    /// <remarks>
    /// Every flush changes the state: SQLite writes nothing, and so syncs nothing, for a row updated to the bytes
    /// it already holds (a batch of unchanged rows measured 29 µs, no fsync).
    /// </remarks>
    [Benchmark]
    public Task Flush()
    {
        BinaryPrimitives.WriteInt64LittleEndian(_state, ++_flushes);
        return _storage.WriteBatchAsync(_batch, CancellationToken.None);
    }
}
