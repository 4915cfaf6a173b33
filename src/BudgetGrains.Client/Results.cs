namespace BudgetGrains.Client;

/// <summary>Why a scope of the admission chain denied a reserve or a check.</summary>
public enum DenyReason
{
    /// <summary>The server gave no reason (a newer server's reason this SDK does not know).</summary>
    Unspecified = 0,
    /// <summary>spent + held + estimate would exceed the scope's limit.</summary>
    BudgetExhausted = 1,
    /// <summary>The scope is frozen (kill switch).</summary>
    Frozen = 2,
    /// <summary>The agent task is deeper than its maximum depth.</summary>
    DepthLimit = 3,
    /// <summary>The agent task retried more than its maximum retries.</summary>
    RetryLimit = 4,
    /// <summary>The agent task made its maximum number of calls.</summary>
    CallLimit = 5,
    /// <summary>A rate limit of the scope is exhausted for now.</summary>
    RateLimited = 6,
    /// <summary>The estimate was given as token usage of a model the server has no price for.</summary>
    UnknownPrice = 7,
    /// <summary>The agent task was ended: no further calls are admitted for it.</summary>
    TaskEnded = 8,
    /// <summary>No scope of the admission chain has a budget, and the server (or the tenant) treats unknown scopes as
    /// closed: a misspelt tenant or feature is denied rather than admitted without a limit.</summary>
    NoBudget = 9,
    /// <summary>A meter limit of the scope has too little of the meter left for the call's estimate of it
    /// (docs/decisions/0041).</summary>
    MeterLimit = 10,
}

/// <summary>A soft threshold that a hold made the scope cross.</summary>
/// <param name="Scope">The scope, e.g. <c>team/search</c>.</param>
/// <param name="Percent">The threshold in percent of the scope's limit.</param>
public sealed record ThresholdCrossing(string Scope, int Percent);

/// <summary>The answer to a check: would a reserve be admitted now? A deny is an answer, not an exception.</summary>
/// <param name="Admitted">True when a reserve of the estimate would be admitted now.</param>
/// <param name="Reason">Why it would be denied; null when admitted.</param>
/// <param name="DeniedScope">The first scope of the chain that would deny, e.g. <c>team/search</c>; null when admitted.</param>
/// <param name="RemainingNanos">The smallest amount remaining across the chain's limited scopes, before any hold; null when no scope of the chain has a limit.</param>
/// <param name="RetryAfter">When denied <see cref="DenyReason.RateLimited"/>: how long until the rate limit would admit the call.</param>
public sealed record CheckResult(bool Admitted, DenyReason? Reason, string? DeniedScope, long? RemainingNanos, TimeSpan? RetryAfter = null);

/// <summary>The answer to a commit.</summary>
/// <param name="ChargedNanos">What was recorded as spent.</param>
/// <param name="Late">The hold had already expired; the spend is recorded all the same.</param>
/// <param name="Overage">The actual cost exceeded the estimate that was held.</param>
public sealed record CommitResult(long ChargedNanos, bool Late, bool Overage);

/// <summary>Where a <see cref="BudgetHold"/> is in its life.</summary>
public enum HoldState
{
    /// <summary>The reserve was denied: nothing is held and there is nothing to commit or release.</summary>
    Denied,
    /// <summary>Admitted and neither committed nor released yet.</summary>
    Open,
    /// <summary>A commit was sent (whether it succeeded or failed, the hold is not released on dispose).</summary>
    Committed,
    /// <summary>A release was sent, explicitly or on dispose.</summary>
    Released,
}
