using BudgetGrains.Grains.Meters;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Meters;

/// <summary>The meter queries (<see cref="IMeterStore"/>) on the SQLite file, over read connections.</summary>
public sealed class SqliteMeterStore(Func<SqliteConnection> openReadConnection) : IMeterStore
{
    public Task<IReadOnlyList<CatalogMeter>> ReadCatalogAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT name, unit, price_nanos, per_units, as_of FROM meters ORDER BY name",
            r => new CatalogMeter(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetString(4)), cancellationToken);

    public Task<IReadOnlyList<MeterUsageRow>> ReadUsageAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken) =>
        QueryAsync("SELECT meter, quantity, spent_nanos, commits FROM scope_meter_usage WHERE scope = $1 AND period_start_ms = $2 ORDER BY meter",
            r => new MeterUsageRow(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), cancellationToken, scope, periodStartUnixMs);

    public Task<IReadOnlyList<ScopeMeterCount>> ReadScopeMeterCountsAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken) =>
        QueryAsync("""
            SELECT meter, SUM(used), SUM(held) FROM (
                SELECT meter, quantity AS used, 0 AS held FROM scope_meter_usage WHERE scope = $1 AND period_start_ms = $2
                UNION ALL SELECT meter, 0, held_quantity FROM scope_meter_holds WHERE scope = $1)
            GROUP BY meter ORDER BY meter
            """, r => new ScopeMeterCount(r.GetString(0), r.GetInt64(1), r.GetInt64(2)), cancellationToken, scope, periodStartUnixMs);

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<MeterCharge>>> ReadLedgerMetersAsync(IReadOnlyList<string> reservationIds,
        CancellationToken cancellationToken)
    {
        if (reservationIds.Count == 0) return new Dictionary<string, IReadOnlyList<MeterCharge>>();
        // One parameter per id: a page is at most Limits.ExportPageRows ids, far below SQLite's parameter limit.
        var names = string.Join(", ", reservationIds.Select((_, i) => "$" + (i + 1)));
        var rows = await QueryAsync($"SELECT reservation_id, meter, quantity, nanos FROM ledger_meters WHERE reservation_id IN ({names}) ORDER BY reservation_id, meter",
            r => (Id: r.GetString(0), Charge: new MeterCharge(r.GetString(1), r.GetInt64(2), r.GetInt64(3))), cancellationToken, [.. reservationIds]);
        return rows.GroupBy(r => r.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<MeterCharge>)[.. g.Select(r => r.Charge)], StringComparer.Ordinal);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<SqliteDataReader, T> row, CancellationToken cancellationToken, params object[] values)
    {
        await using var connection = openReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++) command.Parameters.AddWithValue("$" + (i + 1), values[i]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken)) rows.Add(row(reader));
        return rows;
    }
}
