using BudgetGrains.Actors;
using BudgetGrains.Grains.Alerts;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Alerts;

/// <summary>
/// Persists raised alerts in the transaction of the spend that raised them. The unique key (scope, period, kind,
/// threshold) keeps the first of each: an alert fires once per scope, period and threshold whatever repeats it.
/// Ids are the table's increasing row ids, so "alerts after id N" is how delivery and streams resume.
/// </summary>
public sealed class SqliteAlertJournal : ISqliteJournalHandler
{
    private const string Component = "alerts";
    private const int SchemaVersion = 1;

    private const string Schema = """
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

    private SqliteConnection? _preparedFor;
    private SqliteCommand _insert = null!;

    public void CreateSchema(SqliteConnection connection) =>
        SchemaVersions.Upgrade(connection, Component, SchemaVersion, (transaction, _) => SchemaVersions.Execute(connection, Schema, transaction));

    public bool CanHandle(IJournalRecord record) => record is AlertRaised;

    public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
    {
        if (!ReferenceEquals(_preparedFor, connection))
        {
            _insert = connection.CreateCommand();
            _insert.CommandText = """
                INSERT OR IGNORE INTO alerts(scope, period_start_ms, kind, threshold_percent, period, spent_nanos, limit_nanos, currency,
                    fired_at_ms, forecast_nanos, velocity_nanos_per_minute, baseline_nanos_per_minute)
                VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                """;
            for (var i = 1; i <= 12; i++) _insert.Parameters.Add(new SqliteParameter("$" + i, null));
            _preparedFor = connection;
        }
        _insert.Transaction = transaction;
        foreach (var record in records)
        {
            var a = ((AlertRaised)record).Alert;
            object[] values = [a.Scope, a.PeriodStartUnixMs, (int)a.Kind, a.ThresholdPercent, (int)a.Period, a.SpentNanos, a.LimitNanos,
                a.Currency, a.FiredAtUnixMs, a.ForecastNanos, a.VelocityNanosPerMinute, a.BaselineNanosPerMinute];
            for (var i = 0; i < values.Length; i++) _insert.Parameters[i].Value = values[i];
            _insert.ExecuteNonQuery();
        }
    }
}
