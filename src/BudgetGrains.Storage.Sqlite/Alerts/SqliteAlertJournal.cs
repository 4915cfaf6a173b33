using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Alerts;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Alerts;

/// <summary>
/// Persists raised alerts in the transaction of the spend that raised them. The unique key (scope, period, kind,
/// threshold) keeps the first of each: an alert fires once per scope, period and threshold whatever repeats it.
/// Ids are the table's increasing row ids, so "alerts after id N" is how delivery and streams resume.
/// Acknowledgements update the alert (the first one stays); each sink's deliveries are rows of alert_deliveries.
/// </summary>
public sealed class SqliteAlertJournal : ISqliteJournalHandler
{
    private const string Component = "alerts";
    private const int SchemaVersion = 2;

    /// <summary>Version 1: the alerts.</summary>
    private const string AlertsTable = """
        CREATE TABLE IF NOT EXISTS alerts(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            scope TEXT NOT NULL,
            period_start_ms INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            threshold_percent INTEGER NOT NULL,
            period INTEGER NOT NULL,
            spent_nanos INTEGER NOT NULL,
            limit_nanos INTEGER NOT NULL,
            currency TEXT NOT NULL,
            fired_at_ms INTEGER NOT NULL,
            forecast_nanos INTEGER NOT NULL,
            velocity_nanos_per_minute INTEGER NOT NULL,
            baseline_nanos_per_minute INTEGER NOT NULL,
            acknowledged_at_ms INTEGER,
            acknowledged_by TEXT,
            UNIQUE(scope, period_start_ms, kind, threshold_percent));
        """;

    /// <summary>Version 2: each sink's outbox, one row per (sink, alert); the index finds a sink's due deliveries.</summary>
    private const string DeliveriesTable = """
        CREATE TABLE IF NOT EXISTS alert_deliveries(
            sink TEXT NOT NULL,
            alert_id INTEGER NOT NULL,
            state INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL,
            last_error TEXT NOT NULL,
            PRIMARY KEY(sink, alert_id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries(sink, state, next_attempt_ms);
        CREATE INDEX IF NOT EXISTS alert_deliveries_by_alert ON alert_deliveries(alert_id);
        """;

    private SqliteConnection? _preparedFor;
    private SqliteCommand _insert = null!;
    private SqliteCommand _acknowledge = null!;
    private SqliteCommand _delivery = null!;

    public void CreateSchema(SqliteConnection connection) =>
        SchemaVersions.Upgrade(connection, Component, SchemaVersion, (transaction, found) =>
        {
            if (found < 1) SchemaVersions.Execute(connection, AlertsTable, transaction);
            if (found < 2) SchemaVersions.Execute(connection, DeliveriesTable, transaction);
        });

    public bool CanHandle(IJournalRecord record) => record is AlertRaised or AlertAcknowledged or AlertDeliveryRecorded;

    public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
    {
        if (!ReferenceEquals(_preparedFor, connection)) Prepare(connection);
        (_insert.Transaction, _acknowledge.Transaction, _delivery.Transaction) = (transaction, transaction, transaction);
        foreach (var record in records)
        {
            switch (record)
            {
                case AlertRaised { Alert: var a }:
                    Run(_insert, a.Scope, a.PeriodStartUnixMs, (int)a.Kind, a.ThresholdPercent, (int)a.Period, a.SpentNanos, a.LimitNanos,
                        a.Currency, a.FiredAtUnixMs, a.ForecastNanos, a.VelocityNanosPerMinute, a.BaselineNanosPerMinute);
                    break;
                case AlertAcknowledged ack:
                    Run(_acknowledge, ack.AlertId, ack.AtUnixMs, ack.By);
                    break;
                case AlertDeliveryRecorded { AlertId: var id, Delivery: var d }:
                    Run(_delivery, d.Sink, id, (int)d.State, d.Attempts, d.NextAttemptUnixMs, d.UpdatedAtUnixMs, d.LastError);
                    break;
            }
        }
    }

    private void Prepare(SqliteConnection connection)
    {
        _insert = Prepared(connection, 12, """
            INSERT OR IGNORE INTO alerts(scope, period_start_ms, kind, threshold_percent, period, spent_nanos, limit_nanos, currency,
                fired_at_ms, forecast_nanos, velocity_nanos_per_minute, baseline_nanos_per_minute)
            VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """);
        // The first acknowledgement stays: who acknowledged first, and when.
        _acknowledge = Prepared(connection, 3, "UPDATE alerts SET acknowledged_at_ms = $2, acknowledged_by = $3 WHERE id = $1 AND acknowledged_at_ms IS NULL");
        _delivery = Prepared(connection, 7, """
            INSERT INTO alert_deliveries(sink, alert_id, state, attempts, next_attempt_ms, updated_at_ms, last_error)
            VALUES($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT(sink, alert_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
                next_attempt_ms = excluded.next_attempt_ms, updated_at_ms = excluded.updated_at_ms, last_error = excluded.last_error
            """);
        _preparedFor = connection;
    }

    private static SqliteCommand Prepared(SqliteConnection connection, int parameters, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 1; i <= parameters; i++) command.Parameters.Add(new SqliteParameter("$" + i, null));
        return command;
    }

    private static void Run(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
        command.ExecuteNonQuery();
    }
}
