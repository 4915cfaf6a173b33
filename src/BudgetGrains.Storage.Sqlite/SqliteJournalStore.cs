using BudgetGrains.Grains.Journal;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite;

/// <summary>
/// The journal's SQLite backend (the embedded default): grain state and journal records in one file. WAL with synchronous=FULL, so a committed batch survives kill -9 and power loss.
/// One dedicated writer connection commits each group-commit batch as one IMMEDIATE transaction with prepared,
/// reused statements; reads use separate pooled connections, which WAL lets run alongside the writer.
/// </summary>
public sealed class SqliteJournalStore : IJournalStore, IAsyncDisposable
{
    /// <summary>How long a connection waits for a lock held by another connection before failing.</summary>
    public const int BusyTimeoutMs = 5_000;

    /// <summary>Reads map the file instead of a pread system call per page (costly on virtual machines).</summary>
    public const long MmapBytes = 1L << 30;

    /// <summary>The writer's page cache (SQLite's default is 2 MiB): every batch touches the pages of the counters, usage,
    /// ledger and hold indexes; pages it keeps are not read back and re-parsed from the WAL on the next batch.</summary>
    public const int WriterCacheKiB = 64 * 1024;

    /// <summary>How often the background checkpointer copies the WAL into the database file.</summary>
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(2);

    /// <summary>WAL size (pages) past which the checkpointer briefly holds writers back to restart the log.</summary>
    public const int MaxWalPages = 64 * 1024;

    /// <summary>Idle state readers kept for reuse; more are opened under load and closed after.</summary>
    private const int MaxIdleStateReaders = 16;

    private readonly System.Collections.Concurrent.ConcurrentBag<StateReader> _stateReaders = [];

    private const string UpsertSql =
        """
        INSERT INTO grain_state (grain_type, grain_key, data, updated_at_ms) VALUES ($type, $key, $data, $updated)
        ON CONFLICT (grain_type, grain_key) DO UPDATE SET data = excluded.data, updated_at_ms = excluded.updated_at_ms
        """;

    private readonly string _readConnectionString;
    private readonly string _writeConnectionString;
    private readonly IReadOnlyList<ISqliteJournalHandler> _handlers;
    private readonly TimeProvider _timeProvider;
    private readonly SqliteConnection _writer;
    private readonly SqliteCommand _upsert;
    private readonly SqliteParameter _type;
    private readonly SqliteParameter _key;
    private readonly SqliteParameter _data;
    private readonly SqliteParameter _updated;
    // The writer connection is single-threaded; the journal's writer thread is the only caller, this guards misuse.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private bool _disposed;
    private readonly CancellationTokenSource _stopCheckpoints = new();
    private readonly Task _checkpointer;

    /// <summary>Opens (or creates) the database file and the schema of the state table and of every handler.</summary>
    public SqliteJournalStore(string databasePath, IEnumerable<ISqliteJournalHandler> journalHandlers, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        ArgumentNullException.ThrowIfNull(journalHandlers);
        _handlers = [.. journalHandlers];
        _timeProvider = timeProvider ?? TimeProvider.System;
        DatabasePath = Path.GetFullPath(databasePath);
        _writeConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();
        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();

        _writer = new SqliteConnection(_writeConnectionString);
        _writer.Open();
        Execute(_writer, $"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout={BusyTimeoutMs}; PRAGMA mmap_size={MmapBytes}; PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-{WriterCacheKiB};");
        Execute(_writer,
            """
            CREATE TABLE IF NOT EXISTS grain_state (
                grain_type TEXT NOT NULL,
                grain_key TEXT NOT NULL,
                data BLOB NOT NULL,
                updated_at_ms INTEGER NOT NULL,
                PRIMARY KEY (grain_type, grain_key)
            ) WITHOUT ROWID;
            """);
        foreach (var handler in _handlers)
        {
            handler.CreateSchema(_writer);
        }

        _upsert = _writer.CreateCommand();
        _upsert.CommandText = UpsertSql;
        _type = _upsert.Parameters.Add("$type", SqliteType.Text);
        _key = _upsert.Parameters.Add("$key", SqliteType.Text);
        _data = _upsert.Parameters.Add("$data", SqliteType.Blob);
        _updated = _upsert.Parameters.Add("$updated", SqliteType.Integer);
        _upsert.Prepare();
        _checkpointer = Task.Run(CheckpointAsync);
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>
    /// An open read-only connection on the same file (from a pool; dispose it to return it). WAL lets readers
    /// run while the writer commits; they see the last committed batch.
    /// </summary>
    public SqliteConnection OpenReadConnection()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        return connection;
    }

    /// <inheritdoc/>
    public Task<byte[]?> ReadStateAsync(StateKey grain, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Every activation reads (most reservations find nothing): a kept, prepared statement on a memory-mapped
        // connection avoids opening a connection, parsing SQL and a pread per page on each one.
        var reader = _stateReaders.TryTake(out var idle) ? idle : new StateReader(_readConnectionString);
        try
        {
            return Task.FromResult(reader.Read(grain));
        }
        finally
        {
            if (_stateReaders.Count < MaxIdleStateReaders)
            {
                _stateReaders.Add(reader);
            }
            else
            {
                reader.Dispose();
            }
        }
    }

    /// <summary>
    /// Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the commit that crosses its
    /// threshold, so one request in a thousand pages waited for the whole copy; measured, moving it here raised
    /// durable reserves by about half (BENCHMARKS.md). PASSIVE never blocks the writer; RESTART does, briefly,
    /// and only when the WAL grew past <see cref="MaxWalPages"/> because readers kept PASSIVE from finishing.
    /// </summary>
    private async Task CheckpointAsync()
    {
        using var connection = new SqliteConnection(_writeConnectionString);
        connection.Open();
        Execute(connection, $"PRAGMA busy_timeout={BusyTimeoutMs};");
        using var passive = connection.CreateCommand();
        passive.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        using var restart = connection.CreateCommand();
        restart.CommandText = "PRAGMA wal_checkpoint(RESTART)";
        using var timer = new PeriodicTimer(CheckpointInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopCheckpoints.Token).ConfigureAwait(false))
            {
                using var result = passive.ExecuteReader();
                if (result.Read() && result.GetInt64(1) > MaxWalPages)
                {
                    restart.ExecuteNonQuery();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed: the writer's connection checkpoints the rest when it closes.
        }
        catch (SqliteException e)
        {
            // A failed checkpoint loses nothing (the WAL keeps the data); the next start checkpoints again.
            System.Diagnostics.Trace.TraceWarning($"SQLite checkpointer stopped: {e.Message}");
        }
    }

    /// <summary>A read connection with its prepared point query.</summary>
    private sealed class StateReader : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _select;
        private readonly SqliteParameter _type;
        private readonly SqliteParameter _key;

        public StateReader(string connectionString)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            Execute(_connection, $"PRAGMA mmap_size={MmapBytes};");
            _select = _connection.CreateCommand();
            _select.CommandText = "SELECT data FROM grain_state WHERE grain_type = $type AND grain_key = $key";
            _type = _select.Parameters.Add("$type", SqliteType.Text);
            _key = _select.Parameters.Add("$key", SqliteType.Text);
            _select.Prepare();
        }

        public byte[]? Read(StateKey grain)
        {
            _type.Value = grain.GrainType;
            _key.Value = grain.Key;
            return _select.ExecuteScalar() as byte[];
        }

        public void Dispose()
        {
            _select.Dispose();
            _connection.Dispose();
        }
    }

    /// <inheritdoc/>
    /// <remarks>One silo opens the file (its data-directory lock), so open holds' states can live in the hold index:
    /// a reserve then writes no row keyed by its random request id (decision 0037).</remarks>
    public bool KeepsOpenHoldStates => true;

    /// <inheritdoc/>
    /// <remarks>One silo per database (its data-directory lock): no activation is ever stale, fences are not checked.</remarks>
    public async Task<IReadOnlyList<int>> WriteBatchAsync(IReadOnlyList<JournalWrite> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            WriteBatch(batch);
            return [];
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private void WriteBatch(IReadOnlyList<JournalWrite> batch)
    {
        using var transaction = _writer.BeginTransaction(deferred: false);
        _upsert.Transaction = transaction;
        long nowMs = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        Dictionary<ISqliteJournalHandler, List<IJournalRecord>>? journal = null;
        foreach (var write in batch)
        {
            if (write.State is not null)
            {
                _type.Value = write.Grain.GrainType;
                _key.Value = write.Grain.Key;
                _data.Value = write.State;
                _updated.Value = nowMs;
                _upsert.ExecuteNonQuery();
            }
            foreach (var record in write.Records)
            {
                var handler = HandlerFor(record);
                journal ??= [];
                if (!journal.TryGetValue(handler, out var records))
                {
                    journal[handler] = records = [];
                }
                records.Add(record);
            }
        }
        if (journal is not null)
        {
            foreach (var (handler, records) in journal)
            {
                handler.Apply(_writer, transaction, records);
            }
        }
        transaction.Commit();
    }

    private ISqliteJournalHandler HandlerFor(IJournalRecord record)
    {
        foreach (var handler in _handlers)
        {
            if (handler.CanHandle(record))
            {
                return handler;
            }
        }
        throw new InvalidOperationException(
            $"No ISqliteJournalHandler handles journal records of type {record.GetType().FullName}; register one with SqliteJournalStore.");
    }

    /// <summary>Closes the writer and releases pooled read connections, so the file can be moved or deleted.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopCheckpoints.Cancel();
        await _checkpointer.ConfigureAwait(false);
        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _upsert.Dispose();
            _writer.Dispose();
            while (_stateReaders.TryTake(out var reader))
            {
                reader.Dispose();
            }
            using var pooled = new SqliteConnection(_readConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
