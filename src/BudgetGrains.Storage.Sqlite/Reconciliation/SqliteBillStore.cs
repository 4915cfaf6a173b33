using BudgetGrains.Grains;
using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Reconciliation;

/// <summary>
/// Imported provider bills in the silo's SQLite file (component "reconciliation"), and the ledger summed for them. An
/// import is one IMMEDIATE transaction on a connection of its own: it waits for the journal's batch in progress (and
/// a batch for it, up to the busy timeout), which a rare administrative call of at most <see cref="Limits.MaxBillLines"/>
/// rows can afford.
/// </summary>
public sealed class SqliteBillStore : IBillStore
{
    private const string Component = "reconciliation";
    private const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS bill_imports(
            import_id TEXT PRIMARY KEY,
            format TEXT NOT NULL,
            imported_at_ms INTEGER NOT NULL,
            currency TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS bill_lines(
            import_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            kind TEXT NOT NULL,
            day_ms INTEGER NOT NULL,
            billed_nanos INTEGER NOT NULL,
            PRIMARY KEY(import_id, provider, model, kind, day_ms)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS bill_lines_by_day ON bill_lines(day_ms);
        """;

    private readonly SideTables _tables;
    private readonly Func<SqliteConnection> _openReadConnection;

    /// <summary>Brings the component's tables up to date in the file at <paramref name="databasePath"/>.</summary>
    public SqliteBillStore(string databasePath, Func<SqliteConnection> openReadConnection)
    {
        _tables = new SideTables(databasePath, Component, SchemaVersion, Schema);
        _openReadConnection = openReadConnection;
    }

    public Task<bool> ReplaceAsync(BillImport import, CancellationToken cancellationToken)
    {
        using var connection = _tables.OpenWriter();
        using var transaction = connection.BeginTransaction(deferred: false);
        bool replaced;
        using (var exists = SideTables.Command(connection, transaction, "SELECT COUNT(*), SUM(import_id = $1) FROM bill_imports", import.ImportId))
        using (var reader = exists.ExecuteReader())
        {
            reader.Read();
            replaced = !reader.IsDBNull(1) && reader.GetInt64(1) > 0;
            if (!replaced && reader.GetInt64(0) >= Limits.MaxBillImports)
                throw new InvalidOperationException($"{Limits.MaxBillImports} bills are imported already; replace one (same import_id) instead");
        }
        Run(connection, transaction, "DELETE FROM bill_lines WHERE import_id = $1", import.ImportId);
        Run(connection, transaction, "INSERT OR REPLACE INTO bill_imports(import_id, format, imported_at_ms, currency) VALUES($1, $2, $3, $4)",
            import.ImportId, import.Format, import.ImportedAtUnixMs, import.Currency);
        using var insert = SideTables.Command(connection, transaction,
            "INSERT INTO bill_lines(import_id, provider, model, kind, day_ms, billed_nanos) VALUES($1, $2, $3, $4, $5, $6)",
            import.ImportId, "", "", "", 0L, 0L);
        insert.Prepare();
        foreach (var line in import.Lines)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (insert.Parameters[1].Value, insert.Parameters[2].Value, insert.Parameters[3].Value, insert.Parameters[4].Value, insert.Parameters[5].Value) =
                (line.Provider, line.Model, line.Kind, line.DayUnixMs, line.BilledNanos);
            insert.ExecuteNonQuery();
        }
        transaction.Commit();
        return Task.FromResult(replaced);
    }

    public async Task<IReadOnlyList<BillLine>> ReadBilledAsync(long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken)
    {
        await using var connection = _openReadConnection();
        await using var command = SideTables.Command(connection, null, """
            SELECT provider, model, day_ms, SUM(billed_nanos) FROM bill_lines WHERE day_ms >= $1 AND day_ms < $2
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
        await using var connection = _openReadConnection();
        await using var command = SideTables.Command(connection, null, """
            SELECT IFNULL(json_extract(labels, '$.provider'), '') AS provider,
                CASE WHEN model <> '' THEN model ELSE IFNULL(json_extract(labels, '$.model'), '') END AS m,
                committed_at_ms / 86400000 * 86400000 AS day, SUM(actual_nanos), COUNT(*)
            FROM ledger WHERE committed_at_ms >= $1 AND committed_at_ms < $2
            GROUP BY provider, m, day ORDER BY provider, m, day LIMIT $3
            """, fromUnixMs, toUnixMs, limit);
        var rows = new List<CountedCost>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(new CountedCost(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
        return rows;
    }

    private static void Run(SqliteConnection connection, SqliteTransaction transaction, string sql, params object[] values)
    {
        using var command = SideTables.Command(connection, transaction, sql, values);
        command.ExecuteNonQuery();
    }
}
