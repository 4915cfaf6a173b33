using BudgetGrains.Grains;
using BudgetGrains.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Allocation;

/// <summary>
/// Shared costs in the silo's SQLite file (component "allocation"), and the ledger and holds read for allocations. An
/// import is one IMMEDIATE transaction on a connection of its own, like a bill import (SqliteBillStore): it waits for the
/// journal's batch in progress, which a rare administrative call of at most <see cref="Limits.MaxSharedCostsPerImport"/> rows can afford.
/// </summary>
public sealed class SqliteSharedCostStore : ISharedCostStore
{
    private const string Component = "allocation";
    private const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS shared_costs(
            pool TEXT NOT NULL,
            period_start_ms INTEGER NOT NULL,
            period_end_ms INTEGER NOT NULL,
            amount_nanos INTEGER NOT NULL,
            currency TEXT NOT NULL,
            driver TEXT NOT NULL,
            dimension TEXT NOT NULL,
            estimated INTEGER NOT NULL,
            imported_at_ms INTEGER NOT NULL,
            PRIMARY KEY(pool, period_start_ms, period_end_ms)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS shared_costs_by_start ON shared_costs(period_start_ms);
        """;

    private readonly SideTables _tables;
    private readonly Func<SqliteConnection> _openReadConnection;

    /// <summary>Brings the component's tables up to date in the file at <paramref name="databasePath"/>.</summary>
    public SqliteSharedCostStore(string databasePath, Func<SqliteConnection> openReadConnection)
    {
        _tables = new SideTables(databasePath, Component, SchemaVersion, Schema);
        _openReadConnection = openReadConnection;
    }

    public Task<int> ReplaceAsync(IReadOnlyList<SharedCostEntry> costs, CancellationToken cancellationToken)
    {
        using var connection = _tables.OpenWriter();
        using var transaction = connection.BeginTransaction(deferred: false);
        var replaced = 0;
        foreach (var c in costs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var same = SideTables.Command(connection, transaction, """
                SELECT period_start_ms, period_end_ms FROM shared_costs WHERE pool = $1 AND period_start_ms < $3 AND period_end_ms > $2
                """, c.Pool, c.PeriodStartUnixMs, c.PeriodEndUnixMs))
            using (var reader = same.ExecuteReader())
            {
                while (reader.Read())
                {
                    if ((reader.GetInt64(0), reader.GetInt64(1)) != (c.PeriodStartUnixMs, c.PeriodEndUnixMs))
                        throw SharedCosts.Overlap(c, reader.GetInt64(0), reader.GetInt64(1));
                    replaced++;
                }
            }
            using var upsert = SideTables.Command(connection, transaction, """
                INSERT OR REPLACE INTO shared_costs(pool, period_start_ms, period_end_ms, amount_nanos, currency, driver, dimension, estimated, imported_at_ms)
                VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """, c.Pool, c.PeriodStartUnixMs, c.PeriodEndUnixMs, c.AmountNanos, c.Currency, c.Driver, c.Dimension, c.Estimated ? 1 : 0, c.ImportedAtUnixMs);
            upsert.ExecuteNonQuery();
        }
        using (var total = SideTables.Command(connection, transaction, "SELECT COUNT(*) FROM shared_costs"))
        {
            if ((long)total.ExecuteScalar()! > Limits.MaxSharedCosts) throw SharedCosts.TooMany();
        }
        transaction.Commit();
        return Task.FromResult(replaced);
    }

    public async Task<IReadOnlyList<SharedCostEntry>> ReadAsync(long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken)
    {
        await using var connection = _openReadConnection();
        await using var command = SideTables.Command(connection, null, """
            SELECT pool, period_start_ms, period_end_ms, amount_nanos, currency, driver, dimension, estimated, imported_at_ms FROM shared_costs
            WHERE period_start_ms < $2 AND period_end_ms > $1 ORDER BY pool, period_start_ms, period_end_ms LIMIT $3
            """, fromUnixMs, toUnixMs, limit);
        var costs = new List<SharedCostEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            costs.Add(new SharedCostEntry(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6), reader.GetInt64(7) != 0, reader.GetInt64(8)));
        return costs;
    }

    public async Task<IReadOnlyList<DriverUsage>> ReadDriverUsageAsync(string dimension, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken)
    {
        string First(string kind) => $"(SELECT c.value FROM json_each(l.chain) c WHERE c.value LIKE '{kind}/%' LIMIT 1)";
        var scope = dimension == SharedCosts.Tenant ? $"IFNULL({First("tenant")}, '')" : $"COALESCE({First("feature")}, {First("agent")}, '')";
        await using var connection = _openReadConnection();
        await using var command = SideTables.Command(connection, null, $"""
            SELECT {scope} AS s, SUM(l.input_tokens + l.cached_input_tokens + l.output_tokens + l.reasoning_tokens), SUM(l.actual_nanos), COUNT(*)
            FROM ledger l WHERE l.committed_at_ms >= $1 AND l.committed_at_ms < $2 GROUP BY s ORDER BY s LIMIT $3
            """, fromUnixMs, toUnixMs, limit);
        var rows = new List<DriverUsage>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
                rows.Add(new DriverUsage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        // The meters of the same commits, per scope (the meter drivers).
        await using var meters = SideTables.Command(connection, null, $"""
            SELECT {scope} AS s, m.meter, SUM(m.quantity) FROM ledger l JOIN ledger_meters m ON m.reservation_id = l.reservation_id
            WHERE l.committed_at_ms >= $1 AND l.committed_at_ms < $2 GROUP BY s, m.meter
            """, fromUnixMs, toUnixMs);
        var quantities = new List<(string, string, long)>();
        await using (var reader = await meters.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
                quantities.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        return AllocationMeters.With(rows, quantities);
    }

    public async Task<IReadOnlyList<(string Scope, long HeldNanos)>> ReadHeldAsync(string dimension, int limit, CancellationToken cancellationToken)
    {
        var prefixes = SharedCosts.HeldPrefixes(dimension);
        await using var connection = _openReadConnection();
        await using var command = SideTables.Command(connection, null, """
            SELECT scope, held_nanos FROM scope_holds WHERE held_nanos > 0 AND (scope LIKE $1 OR scope LIKE $2) ORDER BY scope LIMIT $3
            """, prefixes[0] + "%", prefixes[^1] + "%", limit);
        var rows = new List<(string, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add((reader.GetString(0), reader.GetInt64(1)));
        return rows;
    }
}
