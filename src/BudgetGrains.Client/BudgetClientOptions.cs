namespace BudgetGrains.Client;

/// <summary>Settings of a <see cref="BudgetClient"/>.</summary>
public sealed class BudgetClientOptions
{
    /// <summary>The silo, e.g. <c>http://127.0.0.1:5080</c> (cleartext HTTP/2) or an <c>https://</c> address.</summary>
    public Uri Address { get; set; } = new("http://127.0.0.1:5080");

    /// <summary>How long one SDK call may take, retries and backoff included. Default 5 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one attempt may take before it is abandoned and retried (with the same request id); null = the whole
    /// <see cref="Timeout"/>. Set it below <see cref="Timeout"/> so that a hung connection is retried in time.
    /// </summary>
    public TimeSpan? AttemptTimeout { get; set; }

    /// <summary>Attempts per call, the first included; 1 disables retries. Default 4.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>Upper bound of the first retry's backoff; each later retry doubles it up to <see cref="MaxBackoff"/>. The delay is drawn uniformly below the bound (full jitter). Default 50 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Largest backoff bound between two attempts. Default 1 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Hold lifetime when a reserve does not give one; null = the server's default (5 min).</summary>
    public TimeSpan? DefaultHoldTtl { get; set; }

    /// <summary>
    /// How old the statuses behind a <see cref="BudgetClient.PreCheck"/> may be (an upper bound, see
    /// <see cref="PreCheckResult.Age"/>); older, the pre-check is <see cref="PreCheckVerdict.Unknown"/>. A status stream that
    /// sends nothing for this long is reopened. Keep it above the silo's heartbeat (<c>BudgetWatchHeartbeat</c>, 1 s).
    /// Default 3 s.
    /// </summary>
    public TimeSpan PreCheckStaleAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Chains the pre-check cache may be enabled for at once (one status stream each). Default 64.</summary>
    public int MaxPreCheckChains { get; set; } = 64;

    /// <summary>
    /// The API key sent with every call as <c>authorization: Bearer &lt;key&gt;</c>; null = none (a silo on loopback with
    /// auth off). Keep it out of source code: read it from configuration or the environment (BUDGETGRAINS_API_KEY).
    /// </summary>
    public string? ApiKey { get; set; }

    internal void Validate()
    {
        if (ApiKey is not null && (ApiKey.Length == 0 || ApiKey.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
            throw new ArgumentException("ApiKey must be a key without spaces or control characters, or null", nameof(ApiKey));
        ArgumentNullException.ThrowIfNull(Address);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeout, TimeSpan.Zero, nameof(Timeout));
        if (AttemptTimeout is { } attempt) ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(attempt, TimeSpan.Zero, nameof(AttemptTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialBackoff, TimeSpan.Zero, nameof(InitialBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBackoff, InitialBackoff, nameof(MaxBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PreCheckStaleAfter, TimeSpan.Zero, nameof(PreCheckStaleAfter));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPreCheckChains, 1, nameof(MaxPreCheckChains));
    }
}
