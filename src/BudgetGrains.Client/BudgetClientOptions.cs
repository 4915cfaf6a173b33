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

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Address);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeout, TimeSpan.Zero, nameof(Timeout));
        if (AttemptTimeout is { } attempt) ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(attempt, TimeSpan.Zero, nameof(AttemptTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialBackoff, TimeSpan.Zero, nameof(InitialBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBackoff, InitialBackoff, nameof(MaxBackoff));
    }
}
