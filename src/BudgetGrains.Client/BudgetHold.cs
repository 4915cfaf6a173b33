using Microsoft.Extensions.Logging;

namespace BudgetGrains.Client;

/// <summary>
/// The answer to a reserve. When <see cref="Admitted"/>, the estimate is held on every scope of the chain until
/// <see cref="CommitAsync(long, string?, CancellationToken)"/> or <see cref="ReleaseAsync"/>; disposing a hold that was
/// neither committed nor released releases it, so <c>await using var hold = await budgets.ReserveAsync(...)</c> gives the
/// money back when the model call throws. When denied, <see cref="Reason"/> and <see cref="DeniedScope"/> say why and
/// where, and disposing does nothing.
/// </summary>
public sealed class BudgetHold : IAsyncDisposable
{
    private readonly BudgetClient _client;
    private int _state;

    private BudgetHold(BudgetClient client, HoldState state, string requestId)
    {
        _client = client;
        _state = (int)state;
        RequestId = requestId;
    }

    /// <summary>True when the reserve was admitted and the estimate is held.</summary>
    public bool Admitted => ReservationId is not null;

    /// <summary>The idempotency key the reserve was sent with (given by the caller, or generated).</summary>
    public string RequestId { get; }

    /// <summary>The reservation to commit or release, when admitted; null when denied.</summary>
    public string? ReservationId { get; private init; }

    /// <summary>Why the reserve was denied; null when admitted.</summary>
    public DenyReason? Reason { get; private init; }

    /// <summary>The first scope of the chain that denied, e.g. <c>team/search</c>; null when admitted.</summary>
    public string? DeniedScope { get; private init; }

    /// <summary>
    /// The smallest amount remaining across the chain's limited scopes (after this hold when admitted); null when no
    /// scope of the chain has a limit.
    /// </summary>
    public long? RemainingNanos { get; private init; }

    /// <summary>When denied <see cref="DenyReason.RateLimited"/>: how long until the rate limit would admit the call.</summary>
    public TimeSpan? RetryAfter { get; private init; }

    /// <summary>The estimate held, in nanos (priced by the server for a usage estimate); 0 when denied.</summary>
    public long HeldNanos { get; private init; }

    /// <summary>When the server releases the hold if it is neither committed nor released; null when denied.</summary>
    public DateTimeOffset? ExpiresAt { get; private init; }

    /// <summary>Soft thresholds this hold made a scope cross (alerts are the server's business; this is for logging).</summary>
    public IReadOnlyList<ThresholdCrossing> CrossedThresholds { get; private init; } = [];

    /// <summary>Where the hold is in its life.</summary>
    public HoldState State => (HoldState)Volatile.Read(ref _state);

    /// <summary>Records what the call really cost; the rest of the hold is returned at once.</summary>
    /// <param name="actualNanos">The actual cost in nanos; it may exceed the estimate (reported as overage).</param>
    /// <param name="outcome">An outcome label for cost per outcome ("resolved", "failed"...); optional.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <exception cref="InvalidOperationException">The reserve was denied, or the hold was released.</exception>
    /// <exception cref="BudgetException">The server refused the commit or could not be reached in time; calling again with
    /// the same values is safe (a commit is idempotent).</exception>
    public Task<CommitResult> CommitAsync(long actualNanos, string? outcome = null, CancellationToken cancellationToken = default) =>
        _client.CommitAsync(BeginCommit(), actualNanos, outcome, this, cancellationToken);

    /// <summary>Records what the call cost and the meter quantities it used (priced by the server and added to
    /// <paramref name="actualNanos"/>); the rest of the hold is returned at once.</summary>
    /// <param name="actualNanos">The cost besides the meters, in nanos (0 when the meters are the whole cost).</param>
    /// <param name="outcome">An outcome label for cost per outcome; optional.</param>
    /// <param name="meters">The quantities used, per meter.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <exception cref="InvalidOperationException">The reserve was denied, or the hold was released.</exception>
    /// <exception cref="BudgetException">The server refused the commit (e.g. an unknown meter) or could not be reached in time.</exception>
    public Task<CommitResult> CommitAsync(long actualNanos, string? outcome, IReadOnlyList<MeterUsage> meters, CancellationToken cancellationToken = default) =>
        _client.CommitAsync(BeginCommit(), actualNanos, outcome, meters, this, cancellationToken);

    /// <summary>Records the call's token usage, priced by the server; the rest of the hold is returned at once.</summary>
    /// <param name="usage">The tokens the call really used.</param>
    /// <param name="outcome">An outcome label for cost per outcome; optional.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <exception cref="InvalidOperationException">The reserve was denied, or the hold was released.</exception>
    /// <exception cref="BudgetException">The server refused the commit or could not be reached in time.</exception>
    public Task<CommitResult> CommitAsync(TokenUsage usage, string? outcome = null, CancellationToken cancellationToken = default) =>
        _client.CommitAsync(BeginCommit(), usage, outcome, this, cancellationToken);

    /// <summary>The call did not happen: removes the hold, spends nothing.</summary>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <returns>True when released; false when the hold had already expired, or nothing was held (denied).</returns>
    /// <exception cref="InvalidOperationException">The hold was committed.</exception>
    /// <exception cref="BudgetException">The server refused the release or could not be reached in time.</exception>
    public Task<bool> ReleaseAsync(CancellationToken cancellationToken = default)
    {
        var previous = (HoldState)Interlocked.CompareExchange(ref _state, (int)HoldState.Released, (int)HoldState.Open);
        return previous switch
        {
            HoldState.Denied => Task.FromResult(false),
            HoldState.Committed => throw new InvalidOperationException($"reservation {ReservationId} was committed; it cannot be released"),
            _ => _client.ReleaseAsync(ReservationId!, cancellationToken),
        };
    }

    /// <summary>
    /// Releases the hold if it was neither committed nor released (the model call did not complete). Best effort: it
    /// never throws; a failure is logged and the server releases the hold when it expires.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _state, (int)HoldState.Released, (int)HoldState.Open) != (int)HoldState.Open)
        {
            return;
        }

        try
        {
            await _client.ReleaseAsync(ReservationId!).ConfigureAwait(false);
            _client.Logger.LogDebug("BudgetGrains hold {ReservationId} released on dispose: it was not committed", ReservationId);
        }
        catch (Exception e)
        {
            // DisposeAsync runs while another exception may be propagating; throwing here would replace it.
            _client.Logger.LogWarning(e, "BudgetGrains hold {ReservationId} could not be released on dispose; the server releases it at {ExpiresAt}",
                ReservationId, ExpiresAt);
        }
    }

    /// <summary>The pre-check cache's key of the reserve's chain.</summary>
    internal string? ChainKey { get; private init; }

    internal static BudgetHold ForAdmitted(BudgetClient client, string requestId, string reservationId, long heldNanos, long? remainingNanos,
        DateTimeOffset? expiresAt, IReadOnlyList<ThresholdCrossing> crossedThresholds, string chainKey) =>
        new(client, HoldState.Open, requestId)
        {
            ChainKey = chainKey,
            ReservationId = reservationId,
            HeldNanos = heldNanos,
            RemainingNanos = remainingNanos,
            ExpiresAt = expiresAt,
            CrossedThresholds = crossedThresholds,
        };

    internal static BudgetHold ForDenied(BudgetClient client, string requestId, DenyReason reason, string deniedScope, long? remainingNanos,
        TimeSpan? retryAfter) =>
        new(client, HoldState.Denied, requestId) { Reason = reason, DeniedScope = deniedScope, RemainingNanos = remainingNanos, RetryAfter = retryAfter };

    /// <summary>
    /// Marks the hold committed before the commit is sent: if the commit then fails, the call did happen, so disposing
    /// must not release the hold (that would forget money spent); the caller may retry the commit with the same values.
    /// </summary>
    private string BeginCommit()
    {
        var previous = (HoldState)Interlocked.CompareExchange(ref _state, (int)HoldState.Committed, (int)HoldState.Open);
        return previous switch
        {
            HoldState.Denied => throw new InvalidOperationException($"reserve {RequestId} was denied ({Reason} at {DeniedScope}); there is nothing to commit"),
            HoldState.Released => throw new InvalidOperationException($"reservation {ReservationId} was released; it cannot be committed"),
            _ => ReservationId!,
        };
    }
}
