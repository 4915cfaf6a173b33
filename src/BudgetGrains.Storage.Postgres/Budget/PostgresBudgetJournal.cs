using System.Text.Json;
using System.Text.Json.Serialization;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Storage;
using Npgsql;
using NpgsqlTypes;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Budget;

/// <summary>
/// Writes the budget journal (scope counter deltas, usage, ledger entries, the open-hold index, period history) in the
/// transaction of a group-commit batch. Deltas are summed per (scope, period) first and written as one set-based upsert
/// per table (unnest of arrays), so a batch costs one statement per table, and one row per scope touched, not one per request.
/// The tables and their meaning are the SQLite backend's (SqliteBudgetJournal); text keys compare byte-wise (COLLATE "C")
/// so that listings are in the same order as there.
/// </summary>
public sealed class PostgresBudgetJournal : IPostgresJournalHandler
{
    public string Component => "budget";

    public IReadOnlyList<string> Migrations { get; } =
    [
        """
        CREATE TABLE scope_holds(
            scope text COLLATE "C" PRIMARY KEY,
            held_nanos bigint NOT NULL,
            open_holds integer NOT NULL);
        CREATE TABLE scope_periods(
            scope text COLLATE "C" NOT NULL,
            period_start_ms bigint NOT NULL,
            spent_nanos bigint NOT NULL,
            commits bigint NOT NULL,
            denials bigint NOT NULL,
            calls bigint NOT NULL,
            retries bigint NOT NULL,
            depth_max_seen integer NOT NULL,
            input_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            PRIMARY KEY(scope, period_start_ms));
        CREATE TABLE period_history(
            scope text COLLATE "C" NOT NULL,
            period_start_ms bigint NOT NULL,
            period_end_ms bigint NOT NULL,
            period integer NOT NULL,
            limit_nanos bigint NOT NULL,
            currency text NOT NULL,
            reset boolean NOT NULL,
            PRIMARY KEY(scope, period_start_ms));
        CREATE TABLE usage(
            scope text COLLATE "C" NOT NULL,
            period_start_ms bigint NOT NULL,
            dimension text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            spent_nanos bigint NOT NULL,
            commits bigint NOT NULL,
            input_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            PRIMARY KEY(scope, period_start_ms, dimension, key));
        CREATE TABLE ledger(
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            reservation_id text COLLATE "C" NOT NULL UNIQUE,
            chain text[] NOT NULL,
            periods bigint[] NOT NULL,
            labels jsonb NOT NULL,
            estimate_nanos bigint NOT NULL,
            actual_nanos bigint NOT NULL,
            model text NOT NULL,
            input_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            outcome text NOT NULL,
            late boolean NOT NULL,
            overage boolean NOT NULL,
            reserved_at_ms bigint NOT NULL,
            committed_at_ms bigint NOT NULL);
        CREATE TABLE open_holds(
            expires_at_ms bigint NOT NULL,
            reservation_id text COLLATE "C" NOT NULL,
            PRIMARY KEY(expires_at_ms, reservation_id));
        """,
        // A hold closes once (decision 0028): when two activations of one reservation both release or expire it (a silo
        // taken for dead and its replacement), the second close finds no open hold. The batch then fails with SQLSTATE
        // BGH01 naming those holds, and the store refuses the writes that carry them, whole: their counter deltas would
        // take the hold off the scopes a second time.
        """
        CREATE FUNCTION budgetgrains_close_holds(expires bigint[], ids text[]) RETURNS void LANGUAGE plpgsql AS $fn$
        DECLARE
            missing text;
        BEGIN
            WITH wanted AS (SELECT * FROM unnest(expires, ids) AS w(e, i)),
                 closed AS (DELETE FROM open_holds o USING wanted w WHERE o.expires_at_ms = w.e AND o.reservation_id = w.i
                            RETURNING o.expires_at_ms, o.reservation_id)
            SELECT string_agg(w.i || E'\t' || w.e, E'\n') INTO missing
            FROM wanted w LEFT JOIN closed c ON c.expires_at_ms = w.e AND c.reservation_id = w.i
            WHERE c.reservation_id IS NULL;
            IF missing IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'BGH01', MESSAGE = 'holds already closed' || E'\n' || missing;
            END IF;
        END
        $fn$;
        """,
    ];

    /// <summary>The SQLSTATE of a batch that closes a hold no longer open (the function above).</summary>
    public const string ClosedHoldState = "BGH01";

    private const string UpsertHolds = """
        INSERT INTO scope_holds(scope, held_nanos, open_holds) SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[])
        ON CONFLICT(scope) DO UPDATE SET held_nanos = scope_holds.held_nanos + excluded.held_nanos,
            open_holds = scope_holds.open_holds + excluded.open_holds
        """;

    private const string UpsertPeriods = """
        INSERT INTO scope_periods(scope, period_start_ms, spent_nanos, commits, denials, calls, retries, depth_max_seen,
            input_tokens, cached_input_tokens, output_tokens, reasoning_tokens)
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
            $8::integer[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
        ON CONFLICT(scope, period_start_ms) DO UPDATE SET spent_nanos = scope_periods.spent_nanos + excluded.spent_nanos,
            commits = scope_periods.commits + excluded.commits, denials = scope_periods.denials + excluded.denials,
            calls = scope_periods.calls + excluded.calls, retries = scope_periods.retries + excluded.retries,
            depth_max_seen = GREATEST(scope_periods.depth_max_seen, excluded.depth_max_seen),
            input_tokens = scope_periods.input_tokens + excluded.input_tokens,
            cached_input_tokens = scope_periods.cached_input_tokens + excluded.cached_input_tokens,
            output_tokens = scope_periods.output_tokens + excluded.output_tokens,
            reasoning_tokens = scope_periods.reasoning_tokens + excluded.reasoning_tokens
        """;

    private const string UpsertUsage = """
        INSERT INTO usage(scope, period_start_ms, dimension, key, spent_nanos, commits, input_tokens, cached_input_tokens,
            output_tokens, reasoning_tokens)
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
            $8::bigint[], $9::bigint[], $10::bigint[])
        ON CONFLICT(scope, period_start_ms, dimension, key) DO UPDATE SET spent_nanos = usage.spent_nanos + excluded.spent_nanos,
            commits = usage.commits + excluded.commits, input_tokens = usage.input_tokens + excluded.input_tokens,
            cached_input_tokens = usage.cached_input_tokens + excluded.cached_input_tokens,
            output_tokens = usage.output_tokens + excluded.output_tokens, reasoning_tokens = usage.reasoning_tokens + excluded.reasoning_tokens
        """;

    private const string InsertHistory = """
        INSERT INTO period_history(scope, period_start_ms, period_end_ms, period, limit_nanos, currency, reset)
        VALUES($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT(scope, period_start_ms) DO UPDATE SET period_end_ms = excluded.period_end_ms, period = excluded.period,
            limit_nanos = excluded.limit_nanos, currency = excluded.currency, reset = excluded.reset
        """;

    private const string InsertLedger = """
        INSERT INTO ledger(reservation_id, chain, periods, labels, estimate_nanos, actual_nanos, model, input_tokens,
            cached_input_tokens, output_tokens, reasoning_tokens, outcome, late, overage, reserved_at_ms, committed_at_ms)
        VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        """;

    private const string OpenHolds =
        "INSERT INTO open_holds(expires_at_ms, reservation_id) SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING";

    private const string CloseHolds = "SELECT budgetgrains_close_holds($1::bigint[], $2::text[])";

    public bool CanHandle(IJournalRecord record) =>
        record is ScopeCounterDelta or LedgerEntry or HoldOpened or HoldClosed or UsageDelta or PeriodClosed;

    public void Append(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records)
    {
        var first = batch.BatchCommands.Count;
        var periods = new Dictionary<(string Scope, long Period), ScopeCounterDelta>();
        // Holds belong to the scope, not a period: summed per scope, or one statement would upsert a row twice.
        var holds = new Dictionary<string, (long Nanos, int Count)>(StringComparer.Ordinal);
        var usage = new Dictionary<(string Scope, long Period, string Dimension, string Key), UsageDelta>();
        // The open-hold index ends with the last change of each entry in the batch (open or closed); a hold opened in the
        // batch has no row yet, so its close is not checked.
        var holdIndex = new Dictionary<(long ExpiresAt, string Id), bool>();
        var openedHere = new HashSet<(long ExpiresAt, string Id)>();
        foreach (var record in records)
        {
            switch (record)
            {
                case ScopeCounterDelta delta:
                    if (delta.HeldNanos != 0 || delta.OpenHolds != 0)
                    {
                        var held = holds.GetValueOrDefault(delta.Scope);
                        holds[delta.Scope] = (held.Nanos + delta.HeldNanos, held.Count + delta.OpenHolds);
                    }
                    if (!delta.HoldsOnly)
                    {
                        var key = (delta.Scope, delta.PeriodStartUnixMs);
                        periods[key] = periods.TryGetValue(key, out var sum) ? Add(sum, delta) : delta;
                    }
                    break;
                case UsageDelta u:
                    var usageKey = (u.Scope, u.PeriodStartUnixMs, u.Dimension, u.Key);
                    usage[usageKey] = usage.TryGetValue(usageKey, out var total) ? Add(total, u) : u;
                    break;
                case PeriodClosed c:
                    batch.BatchCommands.Add(BatchCommand(InsertHistory, c.Scope, c.StartUnixMs, c.EndUnixMs, (int)c.Period, c.LimitNanos,
                        c.Currency, c.Reset));
                    break;
                case LedgerEntry e:
                    batch.BatchCommands.Add(BatchCommand(InsertLedger, e.ReservationId, e.Chain.ToArray(), e.Periods.ToArray(),
                        Jsonb(JsonSerializer.Serialize(e.Labels, PostgresJsonContext.Default.IReadOnlyDictionaryStringString)),
                        e.EstimateNanos, e.ActualNanos, e.Model, e.InputTokens, e.CachedInputTokens, e.OutputTokens, e.ReasoningTokens,
                        e.Outcome, e.Late, e.Overage, e.ReservedAtUnixMs, e.CommittedAtUnixMs));
                    break;
                case HoldOpened opened:
                    holdIndex[(opened.ExpiresAtUnixMs, opened.ReservationId)] = true;
                    openedHere.Add((opened.ExpiresAtUnixMs, opened.ReservationId));
                    break;
                case HoldClosed closed:
                    holdIndex[(closed.ExpiresAtUnixMs, closed.ReservationId)] = false;
                    break;
            }
        }
        // A hold opened and closed within the batch sums to nothing: no row, as on SQLite.
        // Rows in key order: the batches of several silos update the same hot rows, and a common order keeps them from deadlocking.
        var heldChanges = holds.Where(h => h.Value != (0, 0)).OrderBy(h => h.Key, StringComparer.Ordinal).ToList();
        if (heldChanges.Count > 0)
        {
            batch.BatchCommands.Add(BatchCommand(UpsertHolds, Array(heldChanges.Select(h => h.Key), NpgsqlDbType.Text),
                Array(heldChanges.Select(h => h.Value.Nanos), NpgsqlDbType.Bigint),
                Array(heldChanges.Select(h => h.Value.Count), NpgsqlDbType.Integer)));
        }
        if (periods.Count > 0)
        {
            var d = periods.Values.OrderBy(x => x.Scope, StringComparer.Ordinal).ThenBy(x => x.PeriodStartUnixMs).ToList();
            batch.BatchCommands.Add(BatchCommand(UpsertPeriods,
                Array(d.Select(x => x.Scope), NpgsqlDbType.Text), Array(d.Select(x => x.PeriodStartUnixMs), NpgsqlDbType.Bigint),
                Array(d.Select(x => x.SpentNanos), NpgsqlDbType.Bigint), Array(d.Select(x => x.Commits), NpgsqlDbType.Bigint),
                Array(d.Select(x => x.Denials), NpgsqlDbType.Bigint), Array(d.Select(x => x.Calls), NpgsqlDbType.Bigint),
                Array(d.Select(x => x.Retries), NpgsqlDbType.Bigint), Array(d.Select(x => x.DepthMaxSeen), NpgsqlDbType.Integer),
                Array(d.Select(x => x.InputTokens), NpgsqlDbType.Bigint), Array(d.Select(x => x.CachedInputTokens), NpgsqlDbType.Bigint),
                Array(d.Select(x => x.OutputTokens), NpgsqlDbType.Bigint), Array(d.Select(x => x.ReasoningTokens), NpgsqlDbType.Bigint)));
        }
        if (usage.Count > 0)
        {
            var u = usage.Values.OrderBy(x => x.Scope, StringComparer.Ordinal).ThenBy(x => x.PeriodStartUnixMs)
                .ThenBy(x => x.Dimension, StringComparer.Ordinal).ThenBy(x => x.Key, StringComparer.Ordinal).ToList();
            batch.BatchCommands.Add(BatchCommand(UpsertUsage,
                Array(u.Select(x => x.Scope), NpgsqlDbType.Text), Array(u.Select(x => x.PeriodStartUnixMs), NpgsqlDbType.Bigint),
                Array(u.Select(x => x.Dimension), NpgsqlDbType.Text), Array(u.Select(x => x.Key), NpgsqlDbType.Text),
                Array(u.Select(x => x.SpentNanos), NpgsqlDbType.Bigint), Array(u.Select(x => x.Commits), NpgsqlDbType.Bigint),
                Array(u.Select(x => x.InputTokens), NpgsqlDbType.Bigint), Array(u.Select(x => x.CachedInputTokens), NpgsqlDbType.Bigint),
                Array(u.Select(x => x.OutputTokens), NpgsqlDbType.Bigint), Array(u.Select(x => x.ReasoningTokens), NpgsqlDbType.Bigint)));
        }
        AppendHoldIndex(batch, batch.BatchCommands.Count, OpenHolds, holdIndex.Where(h => h.Value).Select(h => h.Key).ToList());
        // The closes first: a second close of a hold (another copy of its reservation settled it) must be refused as
        // BGH01, naming it, before its commit's ledger row meets the first one's and fails the whole batch.
        AppendHoldIndex(batch, first, CloseHolds, holdIndex.Where(h => !h.Value && !openedHere.Contains(h.Key)).Select(h => h.Key).ToList());
    }

    private static void AppendHoldIndex(NpgsqlBatch batch, int position, string sql, List<(long ExpiresAt, string Id)> entries)
    {
        if (entries.Count == 0) return;
        batch.BatchCommands.Insert(position, BatchCommand(sql, Array(entries.Select(e => e.ExpiresAt), NpgsqlDbType.Bigint),
            Array(entries.Select(e => e.Id), NpgsqlDbType.Text)));
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
}

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class PostgresJsonContext : JsonSerializerContext;
