using System.Data;
using BudgetGrains.Grains.Journal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres;

/// <summary>
/// The journal's PostgreSQL backend (clusters): grain state and journal records in a shared database. Each group-commit
/// batch is one NpgsqlBatch on the writer's own connection: all its statements go in one round trip and run as one
/// implicit transaction (one Sync), committed with synchronous_commit=on, so the batch is durable (WAL flushed) before
/// any of its writers is answered, and all of it or none of it is stored. docs/decisions/0017-postgres-journal.md.
/// </summary>
public sealed class PostgresJournalStore : IJournalStore, IAsyncDisposable
{
    /// <summary>Statements each connection keeps prepared (Npgsql's automatic preparation): the batch's few
    /// statements and the read side's queries are parsed and planned once per connection, not once per use.</summary>
    public const int MaxAutoPrepare = 64;

    /// <summary>How long the writer keeps trying to learn whether a batch whose connection broke during the commit was
    /// committed, before it reports the batch as failed.</summary>
    public static readonly TimeSpan OutcomeCheckTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How often the writer tries to reconnect while it learns a batch's outcome.</summary>
    public static readonly TimeSpan OutcomeCheckInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Times a batch is sent when its connection broke before it was committed: once more, on a new connection.</summary>
    public const int MaxAttempts = 2;

    /// <summary>Pooled read connections at most (state reads on activation, the read sides).</summary>
    public const int MaxReadConnections = 32;

    /// <summary>The session advisory lock the writer holds ("BGWRITER" as ASCII): one silo's journal per database
    /// (I6) until the cluster's membership and fencing let several share one.</summary>
    public const long WriterLockKey = 0x4247_5752_4954_4552;

    internal const string Component = "journal";

    internal static readonly IReadOnlyList<string> Migrations =
    [
        """
        CREATE TABLE grain_state(
            grain_type text COLLATE "C" NOT NULL,
            grain_key text COLLATE "C" NOT NULL,
            data bytea NOT NULL,
            updated_at_ms bigint NOT NULL,
            PRIMARY KEY(grain_type, grain_key));
        CREATE TABLE journal_writers(
            writer uuid PRIMARY KEY,
            last_batch bigint NOT NULL,
            updated_at_ms bigint NOT NULL);
        """,
        // Fencing (docs/decisions/0028-fencing.md): each scope activation claims the next epoch of its scope; a batch
        // first checks, under share locks on the rows (a claim waits for the batch, the batch for a claim), that every
        // epoch its writes carry is still current, and fails with SQLSTATE BGF01 listing the stale ones otherwise.
        """
        CREATE TABLE scope_epochs(
            scope text COLLATE "C" PRIMARY KEY,
            epoch bigint NOT NULL);
        CREATE FUNCTION budgetgrains_check_fences(scopes text[], epochs bigint[]) RETURNS void LANGUAGE plpgsql AS $fn$
        DECLARE
            stale text;
        BEGIN
            PERFORM 1 FROM scope_epochs WHERE scope = ANY(scopes) ORDER BY scope FOR SHARE;
            SELECT string_agg(f.s || E'\t' || f.e, E'\n') INTO stale
            FROM unnest(scopes, epochs) AS f(s, e) LEFT JOIN scope_epochs c ON c.scope = f.s
            WHERE c.epoch IS DISTINCT FROM f.e;
            IF stale IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'BGF01', MESSAGE = 'stale scope epochs' || E'\n' || stale;
            END IF;
        END
        $fn$;
        """,
    ];

    /// <summary>The SQLSTATE of a batch refused for stale epochs (the function above).</summary>
    public const string StaleFenceState = "BGF01";

    private const string ClaimEpoch = """
        INSERT INTO scope_epochs(scope, epoch) VALUES($1, 1)
        ON CONFLICT(scope) DO UPDATE SET epoch = scope_epochs.epoch + 1 RETURNING epoch
        """;

    private const string CheckFences = "SELECT budgetgrains_check_fences($1::text[], $2::bigint[])";

    // One statement for the whole batch's states: unnest turns the three arrays into rows.
    private const string UpsertStates = """
        INSERT INTO grain_state(grain_type, grain_key, data, updated_at_ms)
        SELECT t, k, d, $4 FROM unnest($1::text[], $2::text[], $3::bytea[]) AS s(t, k, d)
        ON CONFLICT(grain_type, grain_key) DO UPDATE SET data = excluded.data, updated_at_ms = excluded.updated_at_ms
        """;

    // The batch's own mark, committed with it: after a connection breaks during the commit, reading it back tells
    // whether the batch was committed (the commit's answer was lost) or not.
    private const string MarkBatch = """
        INSERT INTO journal_writers(writer, last_batch, updated_at_ms) VALUES($1, $2, $3)
        ON CONFLICT(writer) DO UPDATE SET last_batch = excluded.last_batch, updated_at_ms = excluded.updated_at_ms
        """;

    private readonly NpgsqlDataSource _writeSource;
    private readonly IReadOnlyList<IPostgresJournalHandler> _handlers;
    private readonly TimeProvider _timeProvider;
    private ILogger _logger;
    private readonly Guid _writerId = Guid.NewGuid();
    private readonly StateReads _stateReads;
    // The writer connection is single-threaded; the journal's writer thread is the only caller, this guards misuse.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private NpgsqlConnection? _writer;
    private long _batchNumber;
    private bool _disposed;
    private readonly bool _exclusive;

    private PostgresJournalStore(NpgsqlDataSource writeSource, NpgsqlDataSource readSource, IReadOnlyList<IPostgresJournalHandler> handlers,
        TimeProvider timeProvider, ILogger logger, bool exclusive)
    {
        (_writeSource, ReadSource, _handlers, _timeProvider, _logger, _exclusive) = (writeSource, readSource, handlers, timeProvider, logger, exclusive);
        _stateReads = new StateReads(readSource);
    }

    /// <summary>Where the writer reports broken connections and their outcome; the silo's logger once its host is built
    /// (the store opens before the host, so that a bad connection string stops the silo before anything starts).</summary>
    public void UseLogger(ILogger logger) => _logger = logger ?? throw new ArgumentNullException(nameof(logger));

    /// <summary>Pooled connections for the read sides; they see the last committed batch.</summary>
    public NpgsqlDataSource ReadSource { get; }

    /// <summary>
    /// Connects, and creates or upgrades the schema of the state table and of every handler (refusing a database whose
    /// schema is newer than this code). Fails with a message naming the setting when the connection string is malformed
    /// or the server cannot be reached.
    /// </summary>
    /// <param name="exclusive">True (one silo, localhost clustering): the writer holds <see cref="WriterLockKey"/>, so a
    /// second silo on the database refuses to start. False (an Orleans cluster): the silos share the database, fenced by epochs.</param>
    public static async Task<PostgresJournalStore> OpenAsync(string connectionString, IEnumerable<IPostgresJournalHandler> journalHandlers,
        TimeProvider? timeProvider = null, ILogger? logger = null, CancellationToken cancellationToken = default, bool exclusive = true)
    {
        ArgumentNullException.ThrowIfNull(journalHandlers);
        var builder = ParseConnectionString(connectionString);
        builder.MaxAutoPrepare = MaxAutoPrepare;
        builder.AutoPrepareMinUsages = 2;
        builder.MaxPoolSize = MaxReadConnections;
        // Every session insists on synchronous_commit=on (durable before the answer), whatever the database's default:
        // the writer's batches, and the epoch claims made on the read connections.
        builder.Options = (builder.Options is { Length: > 0 } options ? options + " " : "") + "-c synchronous_commit=on";
        var readSource = NpgsqlDataSource.Create(builder.ConnectionString);
        builder.MaxPoolSize = 2;
        var writeSource = NpgsqlDataSource.Create(builder.ConnectionString);
        var store = new PostgresJournalStore(writeSource, readSource, [.. journalHandlers], timeProvider ?? TimeProvider.System,
            logger ?? NullLogger.Instance, exclusive);
        try
        {
            await using var connection = await writeSource.OpenConnectionAsync(cancellationToken);
            await PostgresSchema.UpgradeAsync(connection, Component, Migrations, cancellationToken);
            foreach (var handler in store._handlers)
                await PostgresSchema.UpgradeAsync(connection, handler.Component, handler.Migrations, cancellationToken);
            // Take the writer's lock now, so that a second silo on the database refuses to start rather than fail its first write.
            store._writer = store.OpenWriter();
        }
        catch (NpgsqlException e)
        {
            await store.DisposeAsync();
            throw new InvalidOperationException(
                $"PostgreSQL at {builder.Host}:{builder.Port} database '{builder.Database}' could not be opened for the journal: {e.Message}", e);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
        return store;
    }

    /// <summary>The connection string parsed, or an error naming what is wrong with it.</summary>
    public static NpgsqlConnectionStringBuilder ParseConnectionString(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new ArgumentException("The PostgreSQL connection string is empty: give one such as 'Host=127.0.0.1;Port=5432;Database=budgetgrains;Username=budgetgrains'.",
                nameof(connectionString));
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The PostgreSQL connection string is not valid: {e.Message}", nameof(connectionString), e);
        }
        if (string.IsNullOrEmpty(builder.Host))
            throw new ArgumentException("The PostgreSQL connection string names no Host.", nameof(connectionString));
        return builder;
    }

    /// <inheritdoc/>
    public async Task<byte[]?> ReadStateAsync(StateKey grain, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return await _stateReads.ReadAsync(grain, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<long> ClaimEpochAsync(string scope, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = await ReadSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, ClaimEpoch, scope);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<int>> WriteBatchAsync(IReadOnlyList<JournalWrite> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return WriteBatch(batch);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    // Synchronous: the journal's writer thread is dedicated to this and waits anyway; no thread-pool hops per batch.
    private IReadOnlyList<int> WriteBatch(IReadOnlyList<JournalWrite> writes)
    {
        var number = ++_batchNumber;
        var nowMs = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        List<int>? refused = null;
        _originalPositions = null;
        for (var attempt = 1; ; )
        {
            // A connection that cannot be opened has sent nothing: the batch fails at once, its writers get UNAVAILABLE.
            _writer ??= OpenWriter();
            try
            {
                Execute(_writer, writes, number, nowMs);
                return refused ?? (IReadOnlyList<int>)[];
            }
            catch (PostgresException e) when (e.SqlState is StaleFenceState or Budget.PostgresBudgetJournal.ClosedHoldState)
            {
                // Nothing of the batch is stored. The writes the refusal names are left out whole (those carrying a stale
                // epoch, or closing a hold that another activation closed already); the rest goes again (a claim or a
                // close made meanwhile can refuse more: each round leaves out at least one write, so this ends).
                var refuses = e.SqlState == StaleFenceState ? RefusedByFences(e.MessageText) : RefusedByClosedHolds(e.MessageText);
                var kept = new List<JournalWrite>(writes.Count);
                var positions = new List<int>(writes.Count);
                for (var i = 0; i < writes.Count; i++)
                {
                    if (refuses(writes[i])) (refused ??= []).Add(Original(i));
                    else (kept, positions) = (Add(kept, writes[i]), Add(positions, Original(i)));
                }
                if (kept.Count == writes.Count) throw; // the detail named nothing this batch carries: fail it whole
                _originalPositions = positions;
                writes = kept;
                if (writes.Count == 0) return refused!;
                continue;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                // The connection is fine: the server refused a statement and rolled the whole batch back; nothing is stored.
                if (_writer is { FullState: ConnectionState.Open }) throw;
                // The connection broke (a restart, a network cut, a terminated session): the commit may or may not have
                // happened. Learn which before answering anyone.
                DropWriter();
                switch (WasCommitted(number, e))
                {
                    case true:
                        return refused ?? (IReadOnlyList<int>)[];
                    case false when attempt < MaxAttempts:
                        // Nothing of it is stored: it can go again, whole, on the new connection.
                        _logger.LogWarning(e, "Journal batch {Batch} was not committed: the connection broke; writing it again", number);
                        attempt++;
                        continue;
                    default:
                        throw;
                }
            }
        }
    }

    // Where the writes of the current round stood in the batch the journal handed over (null: the same places).
    private List<int>? _originalPositions;

    private int Original(int i) => _originalPositions is { } positions ? positions[i] : i;

    private static List<T> Add<T>(List<T> list, T item)
    {
        list.Add(item);
        return list;
    }

    /// <summary>Writes carrying one of the (scope, epoch) pairs named in a fencing refusal's message, one "scope\tepoch"
    /// per line after the first.</summary>
    private static Func<JournalWrite, bool> RefusedByFences(string? message)
    {
        var stale = DetailLines(message).Select(d => new ScopeFence(d.Key, d.Number)).ToHashSet();
        return write => write.Fences is { } fences && fences.Any(stale.Contains);
    }

    /// <summary>Writes closing one of the holds named in a closed-hold refusal's message, one "reservation\texpires_at"
    /// per line after the first.</summary>
    private static Func<JournalWrite, bool> RefusedByClosedHolds(string? message)
    {
        var closed = DetailLines(message).ToHashSet();
        return write => write.Records.Any(r => r is BudgetGrains.Grains.Storage.HoldClosed c && closed.Contains((c.ReservationId, c.ExpiresAtUnixMs)));
    }

    private static IEnumerable<(string Key, long Number)> DetailLines(string? message)
    {
        foreach (var line in (message ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var tab = line.LastIndexOf('\t');
            if (tab > 0 && long.TryParse(line.AsSpan(tab + 1), System.Globalization.CultureInfo.InvariantCulture, out var number))
                yield return (line[..tab], number);
        }
    }

    /// <summary>The batch as one NpgsqlBatch: one round trip, one implicit transaction. It starts with the handlers'
    /// locks (<see cref="IPostgresJournalHandler.Lock"/>), taken before any row is locked, then checks the epochs the
    /// writes carry (fencing), under share locks held to the commit.</summary>
    private void Execute(NpgsqlConnection connection, IReadOnlyList<JournalWrite> writes, long number, long nowMs)
    {
        using var batch = new NpgsqlBatch(connection);
        Dictionary<IPostgresJournalHandler, List<IJournalRecord>>? journal = null;
        foreach (var write in writes)
        {
            foreach (var record in write.Records)
            {
                var handler = HandlerFor(record);
                journal ??= [];
                if (!journal.TryGetValue(handler, out var records)) journal[handler] = records = [];
                records.Add(record);
            }
        }
        if (journal is not null)
            foreach (var (handler, records) in journal) handler.Lock(batch, records);
        var fences = new HashSet<ScopeFence>();
        foreach (var write in writes)
            if (write.Fences is { } carried) fences.UnionWith(carried);
        if (fences.Count > 0)
        {
            var sorted = fences.OrderBy(f => f.Scope, StringComparer.Ordinal).ThenBy(f => f.Epoch).ToList();
            batch.BatchCommands.Add(BatchCommand(CheckFences, Array(sorted.Select(f => f.Scope), NpgsqlDbType.Text),
                Array(sorted.Select(f => f.Epoch), NpgsqlDbType.Bigint)));
        }
        AppendStates(batch, writes, nowMs);
        // In the handlers' own order (the budget journal first): its check that a closed hold was open runs before the
        // other handlers' rows of the same commit.
        if (journal is not null)
            foreach (var handler in _handlers)
                if (journal.TryGetValue(handler, out var records)) handler.Append(batch, records);
        batch.BatchCommands.Add(BatchCommand(MarkBatch, _writerId, number, nowMs));
        batch.ExecuteNonQuery();
    }

    /// <summary>One set-based upsert of the batch's grain states; a grain written twice keeps its last state, as it would
    /// if its writes were applied one after the other.</summary>
    private static void AppendStates(NpgsqlBatch batch, IReadOnlyList<JournalWrite> writes, long nowMs)
    {
        var states = new SortedDictionary<StateKey, byte[]>(Comparer<StateKey>.Create((a, b) =>
            string.CompareOrdinal(a.GrainType, b.GrainType) is var byType and not 0 ? byType : string.CompareOrdinal(a.Key, b.Key)));
        foreach (var write in writes)
            if (write.State is not null) states[write.Grain] = write.State;
        if (states.Count == 0) return;
        batch.BatchCommands.Add(BatchCommand(UpsertStates,
            Array(states.Keys.Select(k => k.GrainType), NpgsqlDbType.Text),
            Array(states.Keys.Select(k => k.Key), NpgsqlDbType.Text),
            Array(states.Values, NpgsqlDbType.Bytea),
            nowMs));
    }

    /// <summary>Whether batch <paramref name="number"/> was committed, read from this writer's mark on a new connection;
    /// retried until <see cref="OutcomeCheckTimeout"/>; null when it stays unknown (the batch is then reported failed).</summary>
    private bool? WasCommitted(long number, Exception failure)
    {
        var deadline = _timeProvider.GetTimestamp() + (long)(OutcomeCheckTimeout.TotalSeconds * _timeProvider.TimestampFrequency);
        while (true)
        {
            try
            {
                _writer = OpenWriter();
                using var command = Command(_writer, "SELECT last_batch FROM journal_writers WHERE writer = $1", _writerId);
                var committed = command.ExecuteScalar() is long last && last >= number;
                _logger.LogWarning(failure, "The journal's PostgreSQL connection broke during batch {Batch}; it was {Outcome}", number,
                    committed ? "committed" : "not committed");
                return committed;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                DropWriter();
                if (_timeProvider.GetTimestamp() > deadline)
                {
                    _logger.LogCritical(e, "Whether journal batch {Batch} was committed is unknown: PostgreSQL unreachable for {Timeout}; " +
                        "restart the silo once it is back, so that its grains reload from the store", number, OutcomeCheckTimeout);
                    return null;
                }
                Thread.Sleep(OutcomeCheckInterval);
            }
        }
    }

    /// <summary>A writer connection holding <see cref="WriterLockKey"/>; refused, naming the holder, when another
    /// session (another silo) holds it. The lock is the session's: it goes when the connection or the silo dies.</summary>
    private NpgsqlConnection OpenWriter()
    {
        var connection = _writeSource.OpenConnection();
        if (!_exclusive) return connection;
        using var command = Command(connection, $"SELECT pg_try_advisory_lock({WriterLockKey})");
        if (command.ExecuteScalar() is true) return connection;
        using var holder = Command(connection, """
            SELECT format('%s (server pid %s, since %s)', COALESCE(a.client_addr::text, 'local socket'), a.pid, a.backend_start)
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
            """, WriterLockKey);
        var who = holder.ExecuteScalar() as string ?? "another session";
        connection.Dispose();
        throw new InvalidOperationException(
            $"Another silo's journal is writing to this PostgreSQL database: the session from {who} holds its writer lock; one silo per database until clustering.");
    }

    private void DropWriter()
    {
        _writer?.Dispose();
        _writer = null;
    }

    private IPostgresJournalHandler HandlerFor(IJournalRecord record)
    {
        foreach (var handler in _handlers)
            if (handler.CanHandle(record)) return handler;
        throw new InvalidOperationException(
            $"No IPostgresJournalHandler handles journal records of type {record.GetType().FullName}; register one with PostgresJournalStore.");
    }

    /// <summary>Closes the writer and the read pool.</summary>
    public async ValueTask DisposeAsync()
    {
        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed) return;
            _disposed = true;
            DropWriter();
            await _writeSource.DisposeAsync();
            await ReadSource.DisposeAsync();
        }
        finally
        {
            _writeGate.Release();
        }
    }
}
