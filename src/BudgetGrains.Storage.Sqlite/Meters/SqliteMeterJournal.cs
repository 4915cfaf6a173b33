using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Meters;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Meters;

/// <summary>
/// Writes the meters' journal in the transaction of the group-commit batch that carries it: the catalog (one row per
/// meter), each commit's meters (ledger_meters, one row per reservation and meter) and the usage per scope, period and
/// meter (scope_meter_usage, summed per batch), and the quantities held per scope and meter by open holds
/// (scope_meter_holds, summed per batch like scope_holds). Tables of their own, so a call without meters writes nothing here.
/// </summary>
public sealed class SqliteMeterJournal : ISqliteJournalHandler
{
    private const string Component = "meters";
    /// <summary>Version 2: scope_meter_holds (docs/decisions/0041); a file of version 1 had no meter holds, so it starts empty.</summary>
    private const int SchemaVersion = 2;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS meters(
            name TEXT PRIMARY KEY,
            unit TEXT NOT NULL,
            price_nanos INTEGER NOT NULL,
            per_units INTEGER NOT NULL,
            as_of TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ledger_meters(
            reservation_id TEXT NOT NULL,
            meter TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            nanos INTEGER NOT NULL,
            committed_at_ms INTEGER NOT NULL,
            PRIMARY KEY(reservation_id, meter)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS scope_meter_usage(
            scope TEXT NOT NULL,
            period_start_ms INTEGER NOT NULL,
            meter TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            spent_nanos INTEGER NOT NULL,
            commits INTEGER NOT NULL,
            PRIMARY KEY(scope, period_start_ms, meter)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS scope_meter_holds(
            scope TEXT NOT NULL,
            meter TEXT NOT NULL,
            held_quantity INTEGER NOT NULL,
            PRIMARY KEY(scope, meter)) WITHOUT ROWID;
        """;

    public void CreateSchema(SqliteConnection connection) =>
        SchemaVersions.Upgrade(connection, Component, SchemaVersion, (transaction, _) => SchemaVersions.Execute(connection, Schema, transaction));

    public bool CanHandle(IJournalRecord record) => record is MeterStored or MeterDeleted or MeterDelta or MeterHoldDelta;

    public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
    {
        foreach (var record in records)
        {
            switch (record)
            {
                case MeterStored { Meter: var m }:
                    SqliteCommands.Run(connection, transaction, "INSERT OR REPLACE INTO meters(name, unit, price_nanos, per_units, as_of) VALUES($1, $2, $3, $4, $5)",
                        m.Name, m.Unit, m.PriceNanos, m.PerUnits, m.AsOf);
                    break;
                case MeterDeleted deleted:
                    SqliteCommands.Run(connection, transaction, "DELETE FROM meters WHERE name = $1", deleted.Name);
                    break;
                case MeterDelta delta:
                    foreach (var charge in delta.Meters)
                        SqliteCommands.Run(connection, transaction, "INSERT INTO ledger_meters(reservation_id, meter, quantity, nanos, committed_at_ms) VALUES($1, $2, $3, $4, $5)",
                            delta.ReservationId, charge.Meter, charge.Quantity, charge.Nanos, delta.CommittedAtUnixMs);
                    break;
            }
        }
        foreach (var (key, sum) in MeterUsageSums.Of(records.OfType<MeterDelta>()))
        {
            SqliteCommands.Run(connection, transaction, """
                INSERT INTO scope_meter_usage(scope, period_start_ms, meter, quantity, spent_nanos, commits) VALUES($1, $2, $3, $4, $5, $6)
                ON CONFLICT(scope, period_start_ms, meter) DO UPDATE SET quantity = quantity + excluded.quantity,
                    spent_nanos = spent_nanos + excluded.spent_nanos, commits = commits + excluded.commits
                """, key.Scope, key.PeriodStartUnixMs, key.Meter, sum.Quantity, sum.SpentNanos, sum.Commits);
        }
        foreach (var ((scope, meter), held) in MeterHoldDelta.Sums(records.OfType<MeterHoldDelta>()))
        {
            if (held == 0) continue;
            SqliteCommands.Run(connection, transaction, """
                INSERT INTO scope_meter_holds(scope, meter, held_quantity) VALUES($1, $2, $3)
                ON CONFLICT(scope, meter) DO UPDATE SET held_quantity = held_quantity + excluded.held_quantity
                """, scope, meter, held);
        }
    }
}
