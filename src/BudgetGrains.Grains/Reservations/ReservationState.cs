using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Reservations;

/// <summary>Where a reservation is in its life.</summary>
public enum ReservationStatus
{
    New = 0,
    Admitted = 1,
    Denied = 2,
    Committed = 3,
    Released = 4,
    Expired = 5,
}

/// <summary>
/// The persistent state of one reservation (keyed by the client's request id). It keeps the
/// answers given, so a repeated request gets the same answer (I3), and the chain it holds on.
/// </summary>
public sealed record ReservationState
{
    public ReservationStatus Status { get; init; }
    /// <summary>Hash of the reserve's parameters: the same id with other parameters is refused.</summary>
    public string Fingerprint { get; init; } = "";
    public ReserveAnswer? Answer { get; init; }
    public string[] Chain { get; init; } = [];
    /// <summary>The parent link of each scope of <see cref="Chain"/> at reserve time: usage by child is counted through it.</summary>
    public string[] ChainParents { get; init; } = [];
    public long HeldNanos { get; init; }
    /// <summary>The meter quantities the reserve estimated, held on every scope of <see cref="Chain"/> with the money
    /// (docs/decisions/0041): the commit, release or expiry gives them back.</summary>
    public Meters.MeterQuantity[] HeldMeters { get; init; } = [];
    public long ReservedAtUnixMs { get; init; }
    public long ExpiresAtUnixMs { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];
    /// <summary>The estimate grain that learns from this reservation's actual cost ("" when no feature was named).</summary>
    public string EstimateKey { get; init; } = "";
    public string CommitFingerprint { get; init; } = "";
    public CommitAnswer? CommitAnswer { get; init; }
}
