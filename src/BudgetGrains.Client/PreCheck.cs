namespace BudgetGrains.Client;

/// <summary>What a pre-check says about an estimate.</summary>
public enum PreCheckVerdict
{
    /// <summary>The cache cannot answer soundly (see <see cref="PreCheckResult.UnknownReason"/>): ask the server
    /// (<see cref="BudgetClient.PreCheckAsync"/> does) or decide without.</summary>
    Unknown = 0,

    /// <summary>Every budget of the chain has room for the estimate (from the cache: by the guarantee of
    /// <see cref="BudgetClient.PreCheck"/>; from the server: the reserve would be admitted now).</summary>
    Fits = 1,

    /// <summary>A scope of the chain would deny (<see cref="PreCheckResult.Reason"/>, <see cref="PreCheckResult.DeniedScope"/>).</summary>
    Denied = 2,
}

/// <summary>Why a pre-check could not answer from the cache.</summary>
public enum PreCheckUnknownReason
{
    /// <summary>The pre-check answered.</summary>
    None = 0,

    /// <summary>The cache is not enabled for this chain (<see cref="BudgetClient.EnablePreCheck"/>).</summary>
    NotEnabled = 1,

    /// <summary>The status stream of the chain is connecting, reconnecting or broken: there is no status to answer from.</summary>
    NotSynced = 2,

    /// <summary>The statuses are older than <see cref="BudgetClientOptions.PreCheckStaleAfter"/>.</summary>
    Stale = 3,

    /// <summary>A call of this client that the statuses may not include has an amount the client does not know yet (a
    /// reserve or commit priced by the server, or a learned estimate, still in flight or failed).</summary>
    OwnCallPending = 4,
}

/// <summary>The answer to a pre-check.</summary>
/// <param name="Verdict">Fits, denied, or unknown.</param>
/// <param name="Reason">Why it would be denied: <see cref="DenyReason.BudgetExhausted"/>, <see cref="DenyReason.Frozen"/> or
/// <see cref="DenyReason.TaskEnded"/> from the cache, any reason from the server; null otherwise.</param>
/// <param name="DeniedScope">The first scope of the chain, in admission order, that would deny; null otherwise.</param>
/// <param name="RemainingNanos">
/// The smallest remaining amount across the chain's limited scopes, before the estimate; null when no scope of the chain
/// has a limit, or when unknown. From the cache it is never more than the remaining the silo last reported for each scope
/// less this client's own calls the report may not include (see <see cref="BudgetClient.PreCheck"/>).
/// </param>
/// <param name="Age">From the cache: an upper bound of how old the oldest status used is (also set when that made the
/// answer <see cref="PreCheckUnknownReason.Stale"/>). Zero from the server; otherwise null when unknown.</param>
/// <param name="UnknownReason">Why the verdict is unknown; <see cref="PreCheckUnknownReason.None"/> otherwise.</param>
/// <param name="FromServer">True when <see cref="BudgetClient.PreCheckAsync"/> asked the server (the cache could not answer):
/// the verdict then covers everything a reserve checks (rate limits and task guardrails too).</param>
public sealed record PreCheckResult(
    PreCheckVerdict Verdict,
    DenyReason? Reason,
    string? DeniedScope,
    long? RemainingNanos,
    TimeSpan? Age,
    PreCheckUnknownReason UnknownReason = PreCheckUnknownReason.None,
    bool FromServer = false)
{
    /// <summary>True unless the verdict is <see cref="PreCheckVerdict.Unknown"/>.</summary>
    public bool IsKnown => Verdict != PreCheckVerdict.Unknown;

    internal static PreCheckResult Unknown(PreCheckUnknownReason why) => new(PreCheckVerdict.Unknown, null, null, null, null, why);
}
