using System.Text.Json;
using System.Text.Json.Serialization;
using BudgetGrains.Actors;
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
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS scope_counters(
            scope TEXT PRIMARY KEY,
            spent_nanos INTEGER NOT NULL,
            held_nanos INTEGER NOT NULL,
            open_holds INTEGER NOT NULL,
            commits INTEGER NOT NULL,
            denials INTEGER NOT NULL,
            calls INTEGER NOT NULL,
            retries INTEGER NOT NULL,
            depth_max_seen INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ledger(
            seq INTEGER PRIMARY KEY,
            reservation_id TEXT NOT NULL UNIQUE,
            chain TEXT NOT NULL,
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
            PRIMARY KEY(expires_at_ms, reservation_id)) WITHOUT ROWID;
        """;

    private SqliteConnection? _preparedFor;
    private SqliteCommand _upsertCounters = null!;
    private SqliteCommand _insertLedger = null!;
    private SqliteCommand _insertHold = null!;
    private SqliteCommand _deleteHold = null!;
    private readonly Dictionary<string, ScopeCounterDelta> _sums = new(StringComparer.Ordinal);

    public void CreateSchema(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Schema;
        command.ExecuteNonQuery();
    }

    public bool CanHandle(IJournalRecord record) =>
        record is ScopeCounterDelta or LedgerEntry or HoldOpened or HoldClosed;

    public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
    {
        Prepare(connection);
        _sums.Clear();
        foreach (var record in records)
        {
            switch (record)
            {
                case ScopeCounterDelta delta:
                    _sums[delta.Scope] = _sums.TryGetValue(delta.Scope, out var sum) ? Add(sum, delta) : delta;
                    break;
                case LedgerEntry entry:
                    InsertLedger(transaction, entry);
                    break;
                case HoldOpened opened:
                    Run(_insertHold, transaction, opened.ExpiresAtUnixMs, opened.ReservationId);
                    break;
                case HoldClosed closed:
                    Run(_deleteHold, transaction, closed.ExpiresAtUnixMs, closed.ReservationId);
                    break;
            }
        }
        foreach (var d in _sums.Values)
            Run(_upsertCounters, transaction, d.Scope, d.SpentNanos, d.HeldNanos, d.OpenHolds, d.Commits, d.Denials, d.Calls, d.Retries, d.DepthMaxSeen);
    }

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
    };

    private void InsertLedger(SqliteTransaction transaction, LedgerEntry e) => Run(_insertLedger, transaction,
        e.ReservationId,
        JsonSerializer.Serialize(e.Chain, LedgerJsonContext.Default.IReadOnlyListString),
        JsonSerializer.Serialize(e.Labels, LedgerJsonContext.Default.IReadOnlyDictionaryStringString),
        e.EstimateNanos, e.ActualNanos, e.Model, e.InputTokens, e.CachedInputTokens, e.OutputTokens, e.ReasoningTokens,
        e.Outcome, e.Late ? 1 : 0, e.Overage ? 1 : 0, e.ReservedAtUnixMs, e.CommittedAtUnixMs);

    /// <summary>Commands are prepared once for the store's single writer connection.</summary>
    private void Prepare(SqliteConnection connection)
    {
        if (ReferenceEquals(_preparedFor, connection)) return;
        _upsertCounters = Create(connection, """
            INSERT INTO scope_counters(scope, spent_nanos, held_nanos, open_holds, commits, denials, calls, retries, depth_max_seen)
            VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT(scope) DO UPDATE SET spent_nanos = spent_nanos + excluded.spent_nanos,
                held_nanos = held_nanos + excluded.held_nanos, open_holds = open_holds + excluded.open_holds,
                commits = commits + excluded.commits, denials = denials + excluded.denials,
                calls = calls + excluded.calls, retries = retries + excluded.retries,
                depth_max_seen = MAX(depth_max_seen, excluded.depth_max_seen)
            """, 9);
        _insertLedger = Create(connection, """
            INSERT INTO ledger(reservation_id, chain, labels, estimate_nanos, actual_nanos, model, input_tokens,
                cached_input_tokens, output_tokens, reasoning_tokens, outcome, late, overage, reserved_at_ms, committed_at_ms)
            VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            """, 15);
        _insertHold = Create(connection, "INSERT OR REPLACE INTO open_holds(expires_at_ms, reservation_id) VALUES($1, $2)", 2);
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
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class LedgerJsonContext : JsonSerializerContext;
