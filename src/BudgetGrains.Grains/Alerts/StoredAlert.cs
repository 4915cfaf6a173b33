using BudgetGrains.Grains.Journal;

namespace BudgetGrains.Grains.Alerts;

/// <summary>Where an alert stands with one sink (numbered as budget.v1.DeliveryState).</summary>
[GenerateSerializer]
public enum DeliveryState
{
    Pending = 1,
    Delivered = 2,
    Failed = 3,
}

/// <summary>An alert's delivery to one sink: attempts so far, when the next is due, and the last error.</summary>
/// <param name="NextAttemptUnixMs">Pending: when the next attempt is due.</param>
/// <param name="UpdatedAtUnixMs">When it was queued or last attempted (delivered: when it was delivered).</param>
[GenerateSerializer, Immutable]
public sealed record AlertDelivery(string Sink, DeliveryState State, int Attempts, long NextAttemptUnixMs, long UpdatedAtUnixMs, string LastError);

/// <summary>An alert as stored: its id (increasing in firing order), what raised it, its acknowledgement, and (when asked
/// for) its deliveries.</summary>
/// <param name="AcknowledgedAtUnixMs">0 while not acknowledged.</param>
[GenerateSerializer, Immutable]
public sealed record StoredAlert(long Id, AlertCandidate Alert, long AcknowledgedAtUnixMs, string AcknowledgedBy, IReadOnlyList<AlertDelivery> Deliveries)
{
    public bool Acknowledged => AcknowledgedAtUnixMs != 0;
}

/// <summary>An alert acknowledged by someone; the first acknowledgement is kept.</summary>
public sealed record AlertAcknowledged(long AlertId, string By, long AtUnixMs) : IJournalRecord;

/// <summary>A sink's delivery of an alert queued or attempted: replaces what was recorded for (sink, alert) before.</summary>
public sealed record AlertDeliveryRecorded(long AlertId, AlertDelivery Delivery) : IJournalRecord;
