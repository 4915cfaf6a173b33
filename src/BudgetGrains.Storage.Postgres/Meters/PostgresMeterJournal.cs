using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Meters;
using Npgsql;
using NpgsqlTypes;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Meters;

/// <summary>Writes the meters' journal (catalog, ledger_meters, scope_meter_usage) in the transaction of the batch that
/// carries it; usage is summed per (scope, period, meter), held quantities per (scope, meter), each written in key order as
/// one set-based upsert. As SqliteMeterJournal.</summary>
public sealed class PostgresMeterJournal : IPostgresJournalHandler
{
    public string Component => "meters";

    public IReadOnlyList<string> Migrations { get; } =
    [
        """
        CREATE TABLE meters(
            name text COLLATE "C" PRIMARY KEY,
            unit text NOT NULL,
            price_nanos bigint NOT NULL,
            per_units bigint NOT NULL,
            as_of text NOT NULL);
        CREATE TABLE ledger_meters(
            reservation_id text COLLATE "C" NOT NULL,
            meter text COLLATE "C" NOT NULL,
            quantity bigint NOT NULL,
            nanos bigint NOT NULL,
            committed_at_ms bigint NOT NULL,
            PRIMARY KEY(reservation_id, meter));
        CREATE TABLE scope_meter_usage(
            scope text COLLATE "C" NOT NULL,
            period_start_ms bigint NOT NULL,
            meter text COLLATE "C" NOT NULL,
            quantity bigint NOT NULL,
            spent_nanos bigint NOT NULL,
            commits bigint NOT NULL,
            PRIMARY KEY(scope, period_start_ms, meter));
        """,
        // Version 2 (docs/decisions/0041): the quantities open holds keep per scope and meter.
        """
        CREATE TABLE scope_meter_holds(
            scope text COLLATE "C" NOT NULL,
            meter text COLLATE "C" NOT NULL,
            held_quantity bigint NOT NULL,
            PRIMARY KEY(scope, meter));
        """,
    ];

    private const string StoreMeter = """
        INSERT INTO meters(name, unit, price_nanos, per_units, as_of) VALUES($1, $2, $3, $4, $5)
        ON CONFLICT(name) DO UPDATE SET unit = excluded.unit, price_nanos = excluded.price_nanos, per_units = excluded.per_units, as_of = excluded.as_of
        """;

    private const string AddUsage = """
        INSERT INTO scope_meter_usage AS u(scope, period_start_ms, meter, quantity, spent_nanos, commits)
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
        ON CONFLICT(scope, period_start_ms, meter) DO UPDATE SET quantity = u.quantity + excluded.quantity,
            spent_nanos = u.spent_nanos + excluded.spent_nanos, commits = u.commits + excluded.commits
        """;

    private const string AddHolds = """
        INSERT INTO scope_meter_holds AS h(scope, meter, held_quantity)
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
        ON CONFLICT(scope, meter) DO UPDATE SET held_quantity = h.held_quantity + excluded.held_quantity
        """;

    public bool CanHandle(IJournalRecord record) => record is MeterStored or MeterDeleted or MeterDelta or MeterHoldDelta;

    public void Append(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records)
    {
        foreach (var record in records)
        {
            switch (record)
            {
                case MeterStored { Meter: var m }:
                    batch.BatchCommands.Add(BatchCommand(StoreMeter, m.Name, m.Unit, m.PriceNanos, m.PerUnits, m.AsOf));
                    break;
                case MeterDeleted deleted:
                    batch.BatchCommands.Add(BatchCommand("DELETE FROM meters WHERE name = $1", deleted.Name));
                    break;
                case MeterDelta delta:
                    foreach (var charge in delta.Meters)
                        batch.BatchCommands.Add(BatchCommand(
                            "INSERT INTO ledger_meters(reservation_id, meter, quantity, nanos, committed_at_ms) VALUES($1, $2, $3, $4, $5)",
                            delta.ReservationId, charge.Meter, charge.Quantity, charge.Nanos, delta.CommittedAtUnixMs));
                    break;
                case MeterHoldDelta:
                    break;
                default:
                    throw new ArgumentException($"{record.GetType().Name} is not a meter record", nameof(records));
            }
        }
        var holds = MeterHoldDelta.Sums(records.OfType<MeterHoldDelta>());
        if (holds.Count > 0)
            batch.BatchCommands.Add(BatchCommand(AddHolds,
                Array(holds.Keys.Select(k => k.Scope), NpgsqlDbType.Text),
                Array(holds.Keys.Select(k => k.Meter), NpgsqlDbType.Text),
                Array(holds.Values, NpgsqlDbType.Bigint)));
        var sums = MeterUsageSums.Of(records.OfType<MeterDelta>());
        if (sums.Count == 0) return;
        batch.BatchCommands.Add(BatchCommand(AddUsage,
            Array(sums.Keys.Select(k => k.Scope), NpgsqlDbType.Text),
            Array(sums.Keys.Select(k => k.PeriodStartUnixMs), NpgsqlDbType.Bigint),
            Array(sums.Keys.Select(k => k.Meter), NpgsqlDbType.Text),
            Array(sums.Values.Select(s => s.Quantity), NpgsqlDbType.Bigint),
            Array(sums.Values.Select(s => s.SpentNanos), NpgsqlDbType.Bigint),
            Array(sums.Values.Select(s => s.Commits), NpgsqlDbType.Bigint)));
    }
}
