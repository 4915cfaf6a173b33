using BudgetGrains.Grains.Meters;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Meters;

/// <summary>The meter queries (<see cref="IMeterStore"/>) on PostgreSQL: the same results as SqliteMeterStore.</summary>
public sealed class PostgresMeterStore(NpgsqlDataSource dataSource) : IMeterStore
{
    public Task<IReadOnlyList<CatalogMeter>> ReadCatalogAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT name, unit, price_nanos, per_units, as_of FROM meters ORDER BY name",
            r => new CatalogMeter(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetString(4)), cancellationToken);

    public Task<IReadOnlyList<MeterUsageRow>> ReadUsageAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken) =>
        QueryAsync("SELECT meter, quantity, spent_nanos, commits FROM scope_meter_usage WHERE scope = $1 AND period_start_ms = $2 ORDER BY meter",
            r => new MeterUsageRow(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), cancellationToken, scope, periodStartUnixMs);

    // SUM of bigint is numeric in PostgreSQL: cast back (a scope's quantities are far below 2^63).
    public Task<IReadOnlyList<ScopeMeterCount>> ReadScopeMeterCountsAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken) =>
        QueryAsync("""
            SELECT meter, SUM(used)::bigint, SUM(held)::bigint FROM (
                SELECT meter, quantity AS used, 0::bigint AS held FROM scope_meter_usage WHERE scope = $1 AND period_start_ms = $2
                UNION ALL SELECT meter, 0::bigint, held_quantity FROM scope_meter_holds WHERE scope = $1) AS counts
            GROUP BY meter ORDER BY meter
            """, r => new ScopeMeterCount(r.GetString(0), r.GetInt64(1), r.GetInt64(2)), cancellationToken, scope, periodStartUnixMs);

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<MeterCharge>>> ReadLedgerMetersAsync(IReadOnlyList<string> reservationIds,
        CancellationToken cancellationToken)
    {
        if (reservationIds.Count == 0) return new Dictionary<string, IReadOnlyList<MeterCharge>>();
        var rows = await QueryAsync("SELECT reservation_id, meter, quantity, nanos FROM ledger_meters WHERE reservation_id = ANY($1) ORDER BY reservation_id, meter",
            r => (Id: r.GetString(0), Charge: new MeterCharge(r.GetString(1), r.GetInt64(2), r.GetInt64(3))), cancellationToken,
            Array(reservationIds, NpgsqlTypes.NpgsqlDbType.Text));
        return rows.GroupBy(r => r.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<MeterCharge>)[.. g.Select(r => r.Charge)], StringComparer.Ordinal);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> row, CancellationToken cancellationToken, params object[] values)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, sql, values);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken)) rows.Add(row(reader));
        return rows;
    }
}
