using System.Text.Json;
using System.Text.Json.Serialization;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Budget;

/// <summary>
/// Writes the budget journal (scope counter deltas, ledger entries, the open-hold index) in the
/// same transaction as the reservation states of a group-commit batch. Deltas of one batch are
/// summed per scope first, so a batch costs one upsert per scope touched, not one per request.
/// </summary>
public sealed class SqliteBudgetJournal : ISqliteJournalHandler
{
    private const string Component = "budget";

    /// <summary>Version 2: counters split into the scope's holds and per-period counters; period history; usage groupings;
    /// the ledger records each chain scope's period. Version 3: the open-hold index keeps each open hold's reservation
    /// state (<see cref="HoldOpened.State"/>; null for holds opened before).</summary>
    private const int SchemaVersion = 3;

    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS scope_holds(
            scope TEXT PRIMARY KEY,
            held_nanos INTEGER NOT NULL,
            open_holds INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS scope_periods(
            scope TEXT NOT NULL,
            period_start_ms INTEGER NOT NULL,
            spent_nanos INTEGER NOT NULL,
            commits INTEGER NOT NULL,
            denials INTEGER NOT NULL,
            calls INTEGER NOT NULL,
            retries INTEGER NOT NULL,
            depth_max_seen INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            PRIMARY KEY(scope, period_start_ms)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS period_history(
            scope TEXT NOT NULL,
            period_start_ms INTEGER NOT NULL,
            period_end_ms INTEGER NOT NULL,
            period INTEGER NOT NULL,
            limit_nanos INTEGER NOT NULL,
            currency TEXT NOT NULL,
            reset INTEGER NOT NULL,
            PRIMARY KEY(scope, period_start_ms)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS usage(
            scope TEXT NOT NULL,
            period_start_ms INTEGER NOT NULL,
            dimension TEXT NOT NULL,
            key TEXT NOT NULL,
            spent_nanos INTEGER NOT NULL,
            commits INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            PRIMARY KEY(scope, period_start_ms, dimension, key)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ledger(
            seq INTEGER PRIMARY KEY,
            reservation_id TEXT NOT NULL UNIQUE,
            chain TEXT NOT NULL,
            periods TEXT NOT NULL,
            labels TEXT NOT NULL,
            estimate_nanos INTEGER NOT NULL,
            actual_nanos INTEGER NOT NULL,
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            late INTEGER NOT NULL,
            overage INTEGER NOT NULL,
            reserved_at_ms INTEGER NOT NULL,
            committed_at_ms INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS open_holds(
            expires_at_ms INTEGER NOT NULL,
            reservation_id TEXT NOT NULL,
            state BLOB,
            PRIMARY KEY(expires_at_ms, reservation_id)) WITHOUT ROWID;
        """;

    /// <summary>From the first, unversioned schema (one counters row per scope, no periods): every scope had period none,
    /// so its counters become period 0 and each ledger entry's periods are zeros.</summary>
    private const string MigrateFrom1 = """
        ALTER TABLE ledger ADD COLUMN periods TEXT NOT NULL DEFAULT '[]';
        UPDATE ledger SET periods = (SELECT json_group_array(0) FROM json_each(ledger.chain));
        INSERT INTO scope_holds(scope, held_nanos, open_holds) SELECT scope, held_nanos, open_holds FROM scope_counters;
        INSERT INTO scope_periods SELECT scope, 0, spent_nanos, commits, denials, calls, retries, depth_max_seen, 0, 0, 0, 0 FROM scope_counters;
        DROP TABLE scope_counters;
        """;

    private SqliteConnection? _preparedFor;
    private SqliteCommand _upsertHolds = null!;
    private SqliteCommand _upsertPeriod = null!;
    private SqliteCommand _upsertUsage = null!;
    private SqliteCommand _insertHistory = null!;
    private SqliteCommand _insertLedger = null!;
    private SqliteCommand _insertHold = null!;
    private SqliteCommand _deleteHold = null!;
    private readonly Dictionary<(string Scope, long Period), ScopeCounterDelta> _sums = [];
    private readonly Dictionary<(string Scope, long Period, string Dimension, string Key), UsageDelta> _usage = [];

    public void CreateSchema(SqliteConnection connection) =>
        SchemaVersions.Upgrade(connection, Component, SchemaVersion, (transaction, found) =>
        {
            var unversioned = found == 0 && SchemaVersions.TableExists(connection, transaction, "scope_counters");
            SchemaVersions.Execute(connection, Schema, transaction);
            if (unversioned) SchemaVersions.Execute(connection, MigrateFrom1, transaction);
            // From 1 or 2: open_holds existed without the state column (CREATE TABLE IF NOT EXISTS left it as it was).
            if (!SchemaVersions.ColumnExists(connection, transaction, "open_holds", "state"))
                SchemaVersions.Execute(connection, "ALTER TABLE open_holds ADD COLUMN state BLOB", transaction);
        });

    public bool CanHandle(IJournalRecord record) =>
        record is ScopeCounterDelta or LedgerEntry or HoldOpened or HoldClosed or UsageDelta or PeriodClosed;

    public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
    {
        Prepare(connection);
        _sums.Clear();
        _usage.Clear();
        foreach (var record in records)
        {
            switch (record)
            {
                case ScopeCounterDelta delta:
                    var key = (delta.Scope, delta.PeriodStartUnixMs);
                    _sums[key] = _sums.TryGetValue(key, out var sum) ? Add(sum, delta) : delta;
                    break;
                case UsageDelta usage:
                    var usageKey = (usage.Scope, usage.PeriodStartUnixMs, usage.Dimension, usage.Key);
                    _usage[usageKey] = _usage.TryGetValue(usageKey, out var total) ? Add(total, usage) : usage;
                    break;
                case PeriodClosed closed:
                    Run(_insertHistory, transaction, closed.Scope, closed.StartUnixMs, closed.EndUnixMs, (int)closed.Period,
                        closed.LimitNanos, closed.Currency, closed.Reset ? 1 : 0);
                    break;
                case LedgerEntry entry:
                    InsertLedger(transaction, entry);
                    break;
                case HoldOpened opened:
                    Run(_insertHold, transaction, opened.ExpiresAtUnixMs, opened.ReservationId, (object?)opened.State ?? DBNull.Value);
                    break;
                case HoldClosed closed:
                    Run(_deleteHold, transaction, closed.ExpiresAtUnixMs, closed.ReservationId);
                    break;
            }
        }
        foreach (var d in _sums.Values)
        {
            if (d.HeldNanos != 0 || d.OpenHolds != 0) Run(_upsertHolds, transaction, d.Scope, d.HeldNanos, d.OpenHolds);
            if (!d.HoldsOnly)
                Run(_upsertPeriod, transaction, d.Scope, d.PeriodStartUnixMs, d.SpentNanos, d.Commits, d.Denials, d.Calls, d.Retries,
                    d.DepthMaxSeen, d.InputTokens, d.CachedInputTokens, d.OutputTokens, d.ReasoningTokens);
        }
        foreach (var u in _usage.Values)
            Run(_upsertUsage, transaction, u.Scope, u.PeriodStartUnixMs, u.Dimension, u.Key, u.SpentNanos, u.Commits,
                u.InputTokens, u.CachedInputTokens, u.OutputTokens, u.ReasoningTokens);
    }

    private static UsageDelta Add(UsageDelta a, UsageDelta b) => a with
    {
        SpentNanos = a.SpentNanos + b.SpentNanos,
        Commits = a.Commits + b.Commits,
        InputTokens = a.InputTokens + b.InputTokens,
        CachedInputTokens = a.CachedInputTokens + b.CachedInputTokens,
        OutputTokens = a.OutputTokens + b.OutputTokens,
        ReasoningTokens = a.ReasoningTokens + b.ReasoningTokens,
    };

    private static ScopeCounterDelta Add(ScopeCounterDelta a, ScopeCounterDelta b) => a with
    {
        SpentNanos = a.SpentNanos + b.SpentNanos,
        HeldNanos = a.HeldNanos + b.HeldNanos,
        OpenHolds = a.OpenHolds + b.OpenHolds,
        Commits = a.Commits + b.Commits,
        Denials = a.Denials + b.Denials,
        Calls = a.Calls + b.Calls,
        Retries = a.Retries + b.Retries,
        DepthMaxSeen = Math.Max(a.DepthMaxSeen, b.DepthMaxSeen),
        InputTokens = a.InputTokens + b.InputTokens,
        CachedInputTokens = a.CachedInputTokens + b.CachedInputTokens,
        OutputTokens = a.OutputTokens + b.OutputTokens,
        ReasoningTokens = a.ReasoningTokens + b.ReasoningTokens,
    };

    private void InsertLedger(SqliteTransaction transaction, LedgerEntry e) => Run(_insertLedger, transaction,
        e.ReservationId,
        JsonSerializer.Serialize(e.Chain, LedgerJsonContext.Default.IReadOnlyListString),
        JsonSerializer.Serialize(e.Periods, LedgerJsonContext.Default.IReadOnlyListInt64),
        JsonSerializer.Serialize(e.Labels, LedgerJsonContext.Default.IReadOnlyDictionaryStringString),
        e.EstimateNanos, e.ActualNanos, e.Model, e.InputTokens, e.CachedInputTokens, e.OutputTokens, e.ReasoningTokens,
        e.Outcome, e.Late ? 1 : 0, e.Overage ? 1 : 0, e.ReservedAtUnixMs, e.CommittedAtUnixMs);

    /// <summary>Commands are prepared once for the store's single writer connection.</summary>
    private void Prepare(SqliteConnection connection)
    {
        if (ReferenceEquals(_preparedFor, connection)) return;
        _upsertHolds = Create(connection, """
            INSERT INTO scope_holds(scope, held_nanos, open_holds) VALUES($1, $2, $3)
            ON CONFLICT(scope) DO UPDATE SET held_nanos = held_nanos + excluded.held_nanos, open_holds = open_holds + excluded.open_holds
            """, 3);
        _upsertPeriod = Create(connection, """
            INSERT INTO scope_periods(scope, period_start_ms, spent_nanos, commits, denials, calls, retries, depth_max_seen,
                input_tokens, cached_input_tokens, output_tokens, reasoning_tokens)
            VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT(scope, period_start_ms) DO UPDATE SET spent_nanos = spent_nanos + excluded.spent_nanos,
                commits = commits + excluded.commits, denials = denials + excluded.denials,
                calls = calls + excluded.calls, retries = retries + excluded.retries,
                depth_max_seen = MAX(depth_max_seen, excluded.depth_max_seen),
                input_tokens = input_tokens + excluded.input_tokens, cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
                output_tokens = output_tokens + excluded.output_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens
            """, 12);
        _upsertUsage = Create(connection, """
            INSERT INTO usage(scope, period_start_ms, dimension, key, spent_nanos, commits, input_tokens, cached_input_tokens,
                output_tokens, reasoning_tokens)
            VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT(scope, period_start_ms, dimension, key) DO UPDATE SET spent_nanos = spent_nanos + excluded.spent_nanos,
                commits = commits + excluded.commits, input_tokens = input_tokens + excluded.input_tokens,
                cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
                output_tokens = output_tokens + excluded.output_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens
            """, 10);
        _insertHistory = Create(connection, """
            INSERT OR REPLACE INTO period_history(scope, period_start_ms, period_end_ms, period, limit_nanos, currency, reset)
            VALUES($1, $2, $3, $4, $5, $6, $7)
            """, 7);
        _insertLedger = Create(connection, """
            INSERT INTO ledger(reservation_id, chain, periods, labels, estimate_nanos, actual_nanos, model, input_tokens,
                cached_input_tokens, output_tokens, reasoning_tokens, outcome, late, overage, reserved_at_ms, committed_at_ms)
            VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            """, 16);
        _insertHold = Create(connection, "INSERT OR REPLACE INTO open_holds(expires_at_ms, reservation_id, state) VALUES($1, $2, $3)", 3);
        _deleteHold = Create(connection, "DELETE FROM open_holds WHERE expires_at_ms = $1 AND reservation_id = $2", 2);
        _preparedFor = connection;
    }

    private static SqliteCommand Create(SqliteConnection connection, string sql, int parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 1; i <= parameters; i++) command.Parameters.Add(new SqliteParameter("$" + i, null));
        return command;
    }

    private static void Run(SqliteCommand command, SqliteTransaction transaction, params object[] values)
    {
        command.Transaction = transaction;
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
        command.ExecuteNonQuery();
    }
}

[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyList<long>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class LedgerJsonContext : JsonSerializerContext;
