namespace BudgetGrains.Grains.Alerts;

/// <summary>A sink's queue of deliveries not yet settled: how many, and when the earliest is due (0 when none).</summary>
public readonly record struct DeliveryQueue(int Pending, long NextAttemptUnixMs);

/// <summary>The alert queries a store answers (the writes are journal records: <see cref="AlertRaised"/>,
/// <see cref="AlertAcknowledged"/>, <see cref="AlertDeliveryRecorded"/>).</summary>
public interface IAlertStore
{
    /// <summary>One alert with its deliveries; null when there is none with that id.</summary>
    Task<StoredAlert?> GetAsync(long id, CancellationToken cancellationToken);

    /// <summary>Alerts with an id below <paramref name="beforeId"/>, newest first, with their deliveries.</summary>
    Task<IReadOnlyList<StoredAlert>> ListNewestAsync(string scopePrefix, bool unacknowledgedOnly, long beforeId, int limit, CancellationToken cancellationToken);

    /// <summary>Alerts with an id above <paramref name="afterId"/>, oldest first, without their deliveries.</summary>
    Task<IReadOnlyList<StoredAlert>> ListAfterAsync(long afterId, string scopePrefix, int limit, CancellationToken cancellationToken);

    /// <summary>The id of the newest alert; 0 when there is none.</summary>
    Task<long> LatestIdAsync(CancellationToken cancellationToken);

    /// <summary>A sink's pending deliveries due at <paramref name="nowUnixMs"/>, oldest alert first, each with its alert.</summary>
    Task<IReadOnlyList<(StoredAlert Alert, AlertDelivery Delivery)>> DueDeliveriesAsync(string sink, long nowUnixMs, int limit, CancellationToken cancellationToken);

    Task<DeliveryQueue> ReadQueueAsync(string sink, CancellationToken cancellationToken);
}
