using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Alerts;

/// <summary>
/// Persists raised alerts in the transaction of the spend that raised them; the unique key (scope, period, kind,
/// threshold) keeps the first of each, so an alert fires once per scope, period and threshold whatever repeats it.
/// Ids come from an identity column, and become visible in id order cluster-wide: a batch that raises alerts first takes
/// a transaction advisory lock, so batches raising alerts (on any silo) take their ids and commit one after the other,
/// and an outbox's cursor ("the alerts after id N") never passes an id still being committed (decision 0038).
/// Acknowledgements keep the first; each sink's deliveries are rows of alert_deliveries. As SqliteAlertJournal.
/// </summary>
public sealed class PostgresAlertJournal : IPostgresJournalHandler
{
    /// <summary>The transaction advisory lock a batch raising alerts holds to its commit ("BGALERTS" as ASCII).</summary>
    public const long AlertIdLockKey = 0x4247_414C_4552_5453;

    public string Component => "alerts";

    public IReadOnlyList<string> Migrations { get; } =
    [
        """
        CREATE TABLE alerts(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            scope text COLLATE "C" NOT NULL,
            period_start_ms bigint NOT NULL,
            kind integer NOT NULL,
            threshold_percent integer NOT NULL,
            period integer NOT NULL,
            spent_nanos bigint NOT NULL,
            limit_nanos bigint NOT NULL,
            currency text NOT NULL,
            fired_at_ms bigint NOT NULL,
            forecast_nanos bigint NOT NULL,
            velocity_nanos_per_minute bigint NOT NULL,
            baseline_nanos_per_minute bigint NOT NULL,
            acknowledged_at_ms bigint,
            acknowledged_by text,
            UNIQUE(scope, period_start_ms, kind, threshold_percent));
        CREATE TABLE alert_deliveries(
            sink text COLLATE "C" NOT NULL,
            alert_id bigint NOT NULL,
            state integer NOT NULL,
            attempts integer NOT NULL,
            next_attempt_ms bigint NOT NULL,
            updated_at_ms bigint NOT NULL,
            last_error text NOT NULL,
            PRIMARY KEY(sink, alert_id));
        CREATE INDEX alert_deliveries_due ON alert_deliveries(sink, state, next_attempt_ms);
        CREATE INDEX alert_deliveries_by_alert ON alert_deliveries(alert_id);
        """,
    ];

    // A repeat takes an id from the identity and is dropped, leaving a gap, as SQLite's AUTOINCREMENT does with INSERT OR IGNORE:
    // the ids are the same on both backends.
    private const string Insert = """
        INSERT INTO alerts(scope, period_start_ms, kind, threshold_percent, period, spent_nanos, limit_nanos, currency,
            fired_at_ms, forecast_nanos, velocity_nanos_per_minute, baseline_nanos_per_minute)
        VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        ON CONFLICT(scope, period_start_ms, kind, threshold_percent) DO NOTHING
        """;

    // The first acknowledgement stays: who acknowledged first, and when.
    private const string Acknowledge =
        "UPDATE alerts SET acknowledged_at_ms = $2, acknowledged_by = $3 WHERE id = $1 AND acknowledged_at_ms IS NULL";

    private const string Delivery = """
        INSERT INTO alert_deliveries(sink, alert_id, state, attempts, next_attempt_ms, updated_at_ms, last_error)
        VALUES($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT(sink, alert_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
            next_attempt_ms = excluded.next_attempt_ms, updated_at_ms = excluded.updated_at_ms, last_error = excluded.last_error
        """;

    /// <summary>Alerts are rare (a few per budget and period): serializing the batches that raise them costs nothing
    /// measurable, and the lock is taken before any row lock, so it adds no deadlock.</summary>
    public void Lock(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records)
    {
        if (records.Any(r => r is AlertRaised)) batch.BatchCommands.Add(BatchCommand($"SELECT pg_advisory_xact_lock({AlertIdLockKey})"));
    }

    public bool CanHandle(IJournalRecord record) => record is AlertRaised or AlertAcknowledged or AlertDeliveryRecorded;

    public void Append(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records)
    {
        foreach (var record in records)
        {
            batch.BatchCommands.Add(record switch
            {
                AlertRaised { Alert: var a } => BatchCommand(Insert, a.Scope, a.PeriodStartUnixMs, (int)a.Kind, a.ThresholdPercent,
                    (int)a.Period, a.SpentNanos, a.LimitNanos, a.Currency, a.FiredAtUnixMs, a.ForecastNanos, a.VelocityNanosPerMinute,
                    a.BaselineNanosPerMinute),
                AlertAcknowledged ack => BatchCommand(Acknowledge, ack.AlertId, ack.AtUnixMs, ack.By),
                AlertDeliveryRecorded { AlertId: var id, Delivery: var d } => BatchCommand(Delivery, d.Sink, id, (int)d.State, d.Attempts,
                    d.NextAttemptUnixMs, d.UpdatedAtUnixMs, d.LastError),
                _ => throw new ArgumentException($"{record.GetType().Name} is not an alert record", nameof(records)),
            });
        }
    }
}
