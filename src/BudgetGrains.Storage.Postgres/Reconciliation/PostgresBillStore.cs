using BudgetGrains.Grains;
using BudgetGrains.Grains.Storage;
using Npgsql;
using NpgsqlTypes;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Reconciliation;

/// <summary>
/// Imported provider bills in PostgreSQL (component "reconciliation"), the same tables and answers as SqliteBillStore.
/// The schema is brought up to date on first use (the journal's handlers own the start-up migrations, and bills are not
/// journal records); an import is one transaction, serialized across silos by an advisory lock so the import limit holds.
/// </summary>
public sealed class PostgresBillStore(NpgsqlDataSource dataSource) : IBillStore
{
    private const string Component = "reconciliation";

    /// <summary>"BGBILLS" as ASCII.</summary>
    private const long ImportLockKey = 0x0042_4742_494C_4C53;

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE bill_imports(
            import_id text COLLATE "C" PRIMARY KEY,
            format text NOT NULL,
            imported_at_ms bigint NOT NULL,
            currency text NOT NULL);
        CREATE TABLE bill_lines(
            import_id text COLLATE "C" NOT NULL,
            provider text COLLATE "C" NOT NULL,
            model text COLLATE "C" NOT NULL,
            kind text COLLATE "C" NOT NULL,
            day_ms bigint NOT NULL,
            billed_nanos bigint NOT NULL,
            PRIMARY KEY(import_id, provider, model, kind, day_ms));
        CREATE INDEX bill_lines_by_day ON bill_lines(day_ms);
        """,
    ];

    private readonly SideTables _tables = new(dataSource, Component, Migrations);

    public async Task<bool> ReplaceAsync(BillImport import, CancellationToken cancellationToken)
    {
        await using var connection = await _tables.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockImports = Command(connection, "SELECT pg_advisory_xact_lock(" + ImportLockKey + ")"))
            await lockImports.ExecuteNonQueryAsync(cancellationToken);
        bool replaced;
        await using (var exists = Command(connection, "SELECT COUNT(*), COUNT(*) FILTER (WHERE import_id = $1) FROM bill_imports", import.ImportId))
        await using (var reader = await exists.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            replaced = reader.GetInt64(1) > 0;
            if (!replaced && reader.GetInt64(0) >= Limits.MaxBillImports)
                throw new InvalidOperationException($"{Limits.MaxBillImports} bills are imported already; replace one (same import_id) instead");
        }
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                BatchCommand("DELETE FROM bill_lines WHERE import_id = $1", import.ImportId),
                BatchCommand("""
                    INSERT INTO bill_imports(import_id, format, imported_at_ms, currency) VALUES($1, $2, $3, $4)
                    ON CONFLICT(import_id) DO UPDATE SET format = excluded.format, imported_at_ms = excluded.imported_at_ms, currency = excluded.currency
                    """, import.ImportId, import.Format, import.ImportedAtUnixMs, import.Currency),
                BatchCommand("""
                    INSERT INTO bill_lines(import_id, provider, model, kind, day_ms, billed_nanos)
                    SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
                    """, import.ImportId, Array(import.Lines.Select(l => l.Provider), NpgsqlDbType.Text), Array(import.Lines.Select(l => l.Model), NpgsqlDbType.Text),
                    Array(import.Lines.Select(l => l.Kind), NpgsqlDbType.Text), Array(import.Lines.Select(l => l.DayUnixMs), NpgsqlDbType.Bigint),
                    Array(import.Lines.Select(l => l.BilledNanos), NpgsqlDbType.Bigint)),
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return replaced;
    }

    public async Task<IReadOnlyList<BillLine>> ReadBilledAsync(long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _tables.OpenAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT provider, model, day_ms, SUM(billed_nanos)::bigint FROM bill_lines WHERE day_ms >= $1 AND day_ms < $2
            GROUP BY provider, model, day_ms ORDER BY provider, model, day_ms LIMIT $3
            """, fromUnixMs, toUnixMs, limit);
        var lines = new List<BillLine>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            lines.Add(new BillLine(reader.GetString(0), reader.GetString(1), "", reader.GetInt64(2), reader.GetInt64(3)));
        return lines;
    }

    public async Task<IReadOnlyList<CountedCost>> ReadCountedAsync(long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _tables.OpenAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT COALESCE(labels->>'provider', '') COLLATE "C" AS provider,
                (CASE WHEN model <> '' THEN model ELSE COALESCE(labels->>'model', '') END) COLLATE "C" AS m,
                committed_at_ms / 86400000 * 86400000 AS day, SUM(actual_nanos)::bigint, COUNT(*)
            FROM ledger WHERE committed_at_ms >= $1 AND committed_at_ms < $2
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT $3
            """, fromUnixMs, toUnixMs, limit);
        var rows = new List<CountedCost>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new CountedCost(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
        return rows;
    }
}
