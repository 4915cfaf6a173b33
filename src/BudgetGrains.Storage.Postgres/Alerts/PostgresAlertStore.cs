using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Scopes;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Alerts;

/// <summary>The alert queries (<see cref="IAlertStore"/>) on PostgreSQL: the same results as SqliteAlertStore.</summary>
public sealed class PostgresAlertStore(NpgsqlDataSource dataSource) : IAlertStore
{
    private const string AlertColumns = """
        id, scope, period_start_ms, kind, threshold_percent, period, spent_nanos, limit_nanos, currency, fired_at_ms,
        forecast_nanos, velocity_nanos_per_minute, baseline_nanos_per_minute, COALESCE(acknowledged_at_ms, 0), COALESCE(acknowledged_by, '')
        """;

    private const int AlertColumnCount = 15;

    private const string DeliveryColumns = "sink, state, attempts, next_attempt_ms, updated_at_ms, last_error";

    /// <summary>Scope starts with the prefix parameter (character-wise, so "_" and "%" in a prefix mean themselves, as they would not in LIKE).</summary>
    private static string ScopeHasPrefix(int parameter) => $"left(scope, length(${parameter})) = ${parameter}";

    public async Task<StoredAlert?> GetAsync(long id, CancellationToken cancellationToken)
    {
        var alerts = await ReadAlertsAsync($"SELECT {AlertColumns} FROM alerts WHERE id = $1", [id], cancellationToken);
        return alerts.Count == 0 ? null : (await WithDeliveriesAsync(alerts, cancellationToken))[0];
    }

    public async Task<IReadOnlyList<StoredAlert>> ListNewestAsync(string scopePrefix, bool unacknowledgedOnly, long beforeId, int limit,
        CancellationToken cancellationToken)
    {
        var alerts = await ReadAlertsAsync($"""
            SELECT {AlertColumns} FROM alerts
            WHERE id < $1 AND {ScopeHasPrefix(4)} AND (NOT $2 OR acknowledged_at_ms IS NULL)
            ORDER BY id DESC LIMIT $3
            """, [beforeId, unacknowledgedOnly, limit, scopePrefix], cancellationToken);
        return await WithDeliveriesAsync(alerts, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredAlert>> ListAfterAsync(long afterId, string scopePrefix, int limit, CancellationToken cancellationToken) =>
        await ReadAlertsAsync($"SELECT {AlertColumns} FROM alerts WHERE id > $1 AND {ScopeHasPrefix(3)} ORDER BY id LIMIT $2",
            [afterId, limit, scopePrefix], cancellationToken);

    public async Task<long> LatestIdAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, "SELECT COALESCE(MAX(id), 0) FROM alerts");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<(StoredAlert Alert, AlertDelivery Delivery)>> DueDeliveriesAsync(string sink, long nowUnixMs, int limit,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, $"""
            SELECT {AlertColumns}, {DeliveryColumns} FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
            WHERE d.sink = $1 AND d.state = $2 AND d.next_attempt_ms <= $3 ORDER BY d.alert_id LIMIT $4
            """, sink, (int)DeliveryState.Pending, nowUnixMs, limit);
        var due = new List<(StoredAlert, AlertDelivery)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) due.Add((ReadAlert(reader), ReadDelivery(reader, AlertColumnCount)));
        return due;
    }

    public async Task<DeliveryQueue> ReadQueueAsync(string sink, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection,
            "SELECT COUNT(*)::integer, COALESCE(MIN(next_attempt_ms), 0) FROM alert_deliveries WHERE sink = $1 AND state = $2",
            sink, (int)DeliveryState.Pending);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new DeliveryQueue(reader.GetInt32(0), reader.GetInt64(1));
    }

    private async Task<List<StoredAlert>> ReadAlertsAsync(string sql, object[] values, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, sql, values);
        var alerts = new List<StoredAlert>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) alerts.Add(ReadAlert(reader));
        return alerts;
    }

    /// <summary>The alerts with their deliveries, read in one range query over the alerts' ids.</summary>
    private async Task<List<StoredAlert>> WithDeliveriesAsync(List<StoredAlert> alerts, CancellationToken cancellationToken)
    {
        if (alerts.Count == 0) return alerts;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection,
            $"SELECT alert_id, {DeliveryColumns} FROM alert_deliveries WHERE alert_id BETWEEN $1 AND $2 ORDER BY sink",
            alerts.Min(a => a.Id), alerts.Max(a => a.Id));
        var deliveries = new Dictionary<long, List<AlertDelivery>>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetInt64(0);
            if (!deliveries.TryGetValue(id, out var list)) deliveries[id] = list = [];
            list.Add(ReadDelivery(reader, 1));
        }
        return alerts.ConvertAll(a => deliveries.TryGetValue(a.Id, out var list) ? a with { Deliveries = list } : a);
    }

    private static StoredAlert ReadAlert(NpgsqlDataReader r) => new(
        r.GetInt64(0),
        new AlertCandidate((AlertKind)r.GetInt32(3), r.GetString(1), (BudgetPeriod)r.GetInt32(5), r.GetInt64(2), r.GetInt32(4), r.GetInt64(6),
            r.GetInt64(7), r.GetString(8), r.GetInt64(9), r.GetInt64(10), r.GetInt64(11), r.GetInt64(12)),
        r.GetInt64(13), r.GetString(14), []);

    private static AlertDelivery ReadDelivery(NpgsqlDataReader r, int first) => new(
        r.GetString(first), (DeliveryState)r.GetInt32(first + 1), r.GetInt32(first + 2), r.GetInt64(first + 3), r.GetInt64(first + 4),
        r.GetString(first + 5));
}
