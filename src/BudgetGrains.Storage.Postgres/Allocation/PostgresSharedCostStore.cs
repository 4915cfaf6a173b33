using BudgetGrains.Grains;
using BudgetGrains.Grains.Storage;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Allocation;

/// <summary>
/// Shared costs in PostgreSQL (component "allocation"), the same tables and answers as SqliteSharedCostStore. Like
/// PostgresBillStore, the schema is brought up to date on first use and an import is one transaction, serialized across
/// silos by an advisory lock so the overlap check and the limit hold.
/// </summary>
public sealed class PostgresSharedCostStore(NpgsqlDataSource dataSource) : ISharedCostStore
{
    private const string Component = "allocation";

    /// <summary>"BGSHARED" as ASCII.</summary>
    private const long ImportLockKey = 0x4247_5348_4152_4544;

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE shared_costs(
            pool text COLLATE "C" NOT NULL,
            period_start_ms bigint NOT NULL,
            period_end_ms bigint NOT NULL,
            amount_nanos bigint NOT NULL,
            currency text NOT NULL,
            driver text COLLATE "C" NOT NULL,
            dimension text COLLATE "C" NOT NULL,
            estimated boolean NOT NULL,
            imported_at_ms bigint NOT NULL,
            PRIMARY KEY(pool, period_start_ms, period_end_ms));
        CREATE INDEX shared_costs_by_start ON shared_costs(period_start_ms);
        """,
    ];

    private readonly SideTables _tables = new(dataSource, Component, Migrations);

    public async Task<int> ReplaceAsync(IReadOnlyList<SharedCostEntry> costs, CancellationToken cancellationToken)
    {
        await using var connection = await _tables.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockImports = Command(connection, "SELECT pg_advisory_xact_lock(" + ImportLockKey + ")"))
            await lockImports.ExecuteNonQueryAsync(cancellationToken);
        var replaced = 0;
        foreach (var c in costs)
        {
            await using (var same = Command(connection,
                "SELECT period_start_ms, period_end_ms FROM shared_costs WHERE pool = $1 AND period_start_ms < $3 AND period_end_ms > $2",
                c.Pool, c.PeriodStartUnixMs, c.PeriodEndUnixMs))
            await using (var reader = await same.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    if ((reader.GetInt64(0), reader.GetInt64(1)) != (c.PeriodStartUnixMs, c.PeriodEndUnixMs))
                        throw SharedCosts.Overlap(c, reader.GetInt64(0), reader.GetInt64(1));
                    replaced++;
                }
            }
            await using var upsert = Command(connection, """
                INSERT INTO shared_costs(pool, period_start_ms, period_end_ms, amount_nanos, currency, driver, dimension, estimated, imported_at_ms)
                VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT(pool, period_start_ms, period_end_ms) DO UPDATE SET amount_nanos = excluded.amount_nanos, currency = excluded.currency,
                    driver = excluded.driver, dimension = excluded.dimension, estimated = excluded.estimated, imported_at_ms = excluded.imported_at_ms
                """, c.Pool, c.PeriodStartUnixMs, c.PeriodEndUnixMs, c.AmountNanos, c.Currency, c.Driver, c.Dimension, c.Estimated, c.ImportedAtUnixMs);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var total = Command(connection, "SELECT COUNT(*) FROM shared_costs"))
        {
            if ((long)(await total.ExecuteScalarAsync(cancellationToken))! > Limits.MaxSharedCosts) throw SharedCosts.TooMany();
        }
        await transaction.CommitAsync(cancellationToken);
        return replaced;
    }

    public async Task<IReadOnlyList<SharedCostEntry>> ReadAsync(long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _tables.OpenAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT pool, period_start_ms, period_end_ms, amount_nanos, currency, driver, dimension, estimated, imported_at_ms FROM shared_costs
            WHERE period_start_ms < $2 AND period_end_ms > $1 ORDER BY pool, period_start_ms, period_end_ms LIMIT $3
            """, fromUnixMs, toUnixMs, limit);
        var costs = new List<SharedCostEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            costs.Add(new SharedCostEntry(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6), reader.GetBoolean(7), reader.GetInt64(8)));
        return costs;
    }

    public async Task<IReadOnlyList<DriverUsage>> ReadDriverUsageAsync(string dimension, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken)
    {
        // The chain's first scope of a kind, as SQLite's json_each reads it in order.
        string First(string kind) => $"(SELECT c FROM unnest(l.chain) WITH ORDINALITY u(c, n) WHERE c LIKE '{kind}/%' ORDER BY n LIMIT 1)";
        var scope = dimension == SharedCosts.Tenant ? $"COALESCE({First("tenant")}, '')" : $"COALESCE({First("feature")}, {First("agent")}, '')";
        await using var connection = await _tables.OpenAsync(cancellationToken);
        await using var command = Command(connection, $"""
            SELECT {scope} COLLATE "C" AS s, SUM(l.input_tokens + l.cached_input_tokens + l.output_tokens + l.reasoning_tokens)::bigint,
                SUM(l.actual_nanos)::bigint, COUNT(*)
            FROM ledger l WHERE l.committed_at_ms >= $1 AND l.committed_at_ms < $2 GROUP BY 1 ORDER BY 1 LIMIT $3
            """, fromUnixMs, toUnixMs, limit);
        var rows = new List<DriverUsage>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
                rows.Add(new DriverUsage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        // The meters of the same commits, per scope (the meter drivers).
        await using var meters = Command(connection, $"""
            SELECT {scope} COLLATE "C" AS s, m.meter, SUM(m.quantity)::bigint FROM ledger l JOIN ledger_meters m ON m.reservation_id = l.reservation_id
            WHERE l.committed_at_ms >= $1 AND l.committed_at_ms < $2 GROUP BY 1, 2
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
        await using var connection = await _tables.OpenAsync(cancellationToken);
        await using var command = Command(connection, """
            SELECT scope, held_nanos FROM scope_holds WHERE held_nanos > 0 AND (scope LIKE $1 OR scope LIKE $2) ORDER BY scope COLLATE "C" LIMIT $3
            """, prefixes[0] + "%", prefixes[^1] + "%", limit);
        var rows = new List<(string, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add((reader.GetString(0), reader.GetInt64(1)));
        return rows;
    }
}
