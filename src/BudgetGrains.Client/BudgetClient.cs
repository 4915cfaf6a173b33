using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Client;

/// <summary>
/// The BudgetGrains SDK: reserve before a model call, commit what it cost after, release when it did not happen, check
/// without side effects. Thread-safe; create one per silo address and share it (or register it with
/// <see cref="BudgetClientServiceCollectionExtensions.AddBudgetGrainsClient"/>).
/// </summary>
/// <remarks>
/// Every call has a deadline (<see cref="BudgetClientOptions.Timeout"/>) and is retried on UNAVAILABLE,
/// DEADLINE_EXCEEDED of an attempt, and connection failures, with jittered exponential backoff. Retries are safe
/// because every call is idempotent on the server: a reserve is retried with the same request id, a commit or release
/// with the same reservation id and values, so a retry after a lost answer never charges twice.
/// Errors are thrown as <see cref="BudgetException"/> (<see cref="BudgetTimeoutException"/> for the deadline);
/// a deny is a result, never an exception.
/// A local pre-check (<see cref="PreCheck"/>), enabled per chain with <see cref="EnablePreCheck"/>, answers "would the
/// budgets hold this?" without a round trip, from a status stream and this client's own calls.
/// </remarks>
public sealed class BudgetClient : IAsyncDisposable, IDisposable
{
    private readonly BudgetClientOptions _options;
    private readonly GrpcChannel _channel;
    private readonly V1.Admission.AdmissionClient _admission;
    private readonly PreCheckCache _preChecks;
    private int _disposed;

    /// <summary>Creates a client for the silo at <see cref="BudgetClientOptions.Address"/>.</summary>
    /// <param name="options">The settings; read once, here.</param>
    /// <param name="logger">Where retries and failed automatic releases are logged; none when null.</param>
    public BudgetClient(BudgetClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // A copy: the caller (or an options monitor) may change its instance later; one client keeps one behaviour.
        _options = new BudgetClientOptions
        {
            Address = options.Address,
            Timeout = options.Timeout,
            AttemptTimeout = options.AttemptTimeout,
            MaxAttempts = options.MaxAttempts,
            InitialBackoff = options.InitialBackoff,
            MaxBackoff = options.MaxBackoff,
            DefaultHoldTtl = options.DefaultHoldTtl,
            PreCheckStaleAfter = options.PreCheckStaleAfter,
            MaxPreCheckChains = options.MaxPreCheckChains,
            ApiKey = options.ApiKey,
        };
        Logger = logger ?? NullLogger.Instance;
        _channel = GrpcChannel.ForAddress(_options.Address, new GrpcChannelOptions
        {
            HttpHandler = ApiKeyHandler.Wrap(_options.ApiKey, new SocketsHttpHandler
            {
                // One HTTP/2 connection caps at the server's concurrent stream limit (100 on Kestrel); open more under load.
                EnableMultipleHttp2Connections = true,
                UseProxy = false,
            }),
            // The SDK retries itself, with the same ids (see InvokeAsync); the channel's own retries stay off.
            MaxRetryAttempts = 0,
        });
        _admission = new V1.Admission.AdmissionClient(_channel);
        _preChecks = new PreCheckCache(_admission, _options, Logger);
    }

    /// <summary>The silo this client calls.</summary>
    public Uri Address => _options.Address;

    internal ILogger Logger { get; }

    /// <summary>
    /// Before a model call: holds <paramref name="estimateNanos"/> on every scope of the attribution's chain, or is denied.
    /// </summary>
    /// <param name="attribution">Who the call is attributed to.</param>
    /// <param name="estimateNanos">The most the call is expected to cost, in nanos (see <see cref="Money.FromDollars"/>).</param>
    /// <param name="options">Request id, task context, hold lifetime; defaults when null.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <returns>
    /// A hold: when <see cref="BudgetHold.Admitted"/>, commit or release it, or dispose it to release it; when denied,
    /// <see cref="BudgetHold.Reason"/> and <see cref="BudgetHold.DeniedScope"/> say why and where.
    /// </returns>
    /// <exception cref="BudgetException">The server refused the request, or could not be reached in time.</exception>
    public Task<BudgetHold> ReserveAsync(Attribution attribution, long estimateNanos, ReserveOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = NewReserve(attribution, options);
        request.EstimateNanos = estimateNanos;
        // 0 = the server's learned estimate, and meters are priced by the server: the amount is known only from the answer.
        return ReserveCoreAsync(request, PreCheckCache.KeyOf(attribution), estimateNanos > 0 && request.EstimateMeters.Count == 0 ? estimateNanos : null,
            cancellationToken);
    }

    /// <summary>Before a model call: holds the server's price of <paramref name="estimateUsage"/> on the chain, or is denied.</summary>
    /// <param name="attribution">Who the call is attributed to.</param>
    /// <param name="estimateUsage">The expected tokens (output: the call's maximum), priced by the server's catalog.</param>
    /// <param name="options">Request id, task context, hold lifetime; defaults when null.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <returns>A hold, admitted or denied; <see cref="BudgetHold.HeldNanos"/> is the priced estimate.</returns>
    /// <exception cref="BudgetException">The server refused the request, or could not be reached in time.</exception>
    public Task<BudgetHold> ReserveAsync(Attribution attribution, TokenUsage estimateUsage, ReserveOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(estimateUsage);
        var request = NewReserve(attribution, options);
        request.EstimateUsage = ToProto(estimateUsage);
        return ReserveCoreAsync(request, PreCheckCache.KeyOf(attribution), amount: null, cancellationToken);
    }

    /// <summary>After a model call: records what it really cost, replacing the hold on every scope of its chain.</summary>
    /// <param name="reservationId">The reservation (<see cref="BudgetHold.ReservationId"/>).</param>
    /// <param name="actualNanos">The actual cost in nanos; it may exceed the estimate (reported as overage).</param>
    /// <param name="outcome">An outcome label for cost per outcome ("resolved", "failed"...); optional.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <exception cref="BudgetException">E.g. <see cref="BudgetErrorCode.NotFound"/> for an unknown reservation,
    /// <see cref="BudgetErrorCode.FailedPrecondition"/> after a release or with other values than an earlier commit.</exception>
    public Task<CommitResult> CommitAsync(string reservationId, long actualNanos, string? outcome = null, CancellationToken cancellationToken = default) =>
        CommitAsync(reservationId, actualNanos, outcome, hold: null, cancellationToken);

    /// <summary>After a model call: records its cost and the meter quantities it used (priced by the server and added to
    /// <paramref name="actualNanos"/>), replacing the hold on every scope of its chain.</summary>
    /// <param name="reservationId">The reservation (<see cref="BudgetHold.ReservationId"/>).</param>
    /// <param name="actualNanos">The cost besides the meters, in nanos (0 when the meters are the whole cost).</param>
    /// <param name="outcome">An outcome label for cost per outcome; optional.</param>
    /// <param name="meters">The quantities used, per meter.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <exception cref="BudgetException">As for the amount overload; <see cref="BudgetErrorCode.FailedPrecondition"/> too
    /// for a meter the server does not know.</exception>
    public Task<CommitResult> CommitAsync(string reservationId, long actualNanos, string? outcome, IReadOnlyList<MeterUsage> meters,
        CancellationToken cancellationToken = default) =>
        CommitAsync(reservationId, actualNanos, outcome, meters, hold: null, cancellationToken);

    /// <summary>After a model call: records its token usage, priced by the server.</summary>
    /// <param name="reservationId">The reservation (<see cref="BudgetHold.ReservationId"/>).</param>
    /// <param name="usage">The tokens the call really used.</param>
    /// <param name="outcome">An outcome label for cost per outcome; optional.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <exception cref="BudgetException">As for the amount overload; <see cref="BudgetErrorCode.FailedPrecondition"/> too
    /// when the server has no price for the model.</exception>
    public Task<CommitResult> CommitAsync(string reservationId, TokenUsage usage, string? outcome = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return CommitAsync(reservationId, usage, outcome, hold: null, cancellationToken);
    }

    /// <summary>
    /// Turns on the local pre-check cache for the attribution's chain: a status stream (Admission.WatchBudgets) keeps the
    /// budgets of the chain fresh so that <see cref="PreCheck"/> answers without a round trip. It reconnects by itself
    /// until <see cref="DisablePreCheck"/> or disposal. Calling it again for the same chain does nothing.
    /// </summary>
    /// <param name="attribution">The chain is that of the scopes it names (tenant, feature, agent, task, team, cost center,
    /// budgets) and their ancestors; labels play no part.</param>
    /// <exception cref="InvalidOperationException">The cache is enabled for <see cref="BudgetClientOptions.MaxPreCheckChains"/> chains already.</exception>
    public void EnablePreCheck(Attribution attribution)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        _preChecks.Enable(PreCheckCache.KeyOf(attribution), ToProto(attribution));
    }

    /// <summary>Turns the pre-check cache off for the attribution's chain and closes its stream.</summary>
    /// <param name="attribution">As given to <see cref="EnablePreCheck"/>.</param>
    public void DisablePreCheck(Attribution attribution)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        _preChecks.Disable(PreCheckCache.KeyOf(attribution));
    }

    /// <summary>
    /// Would the budgets of the attribution's chain hold <paramref name="estimateNanos"/> more? Answered from the local
    /// cache, without a round trip, or <see cref="PreCheckVerdict.Unknown"/> when the cache cannot answer soundly.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Guarantee.</b> For every scope of the chain as the silo last reported it, the remaining this pre-check uses (and
    /// so <see cref="PreCheckResult.RemainingNanos"/> and the verdict) is at most R + D, where R is limit − spent − held in
    /// the last status the silo sent for the scope, and D the net change this client's own calls made to the scope after
    /// the silo read that status. To keep that, each own reserve and commit counts at once, with the most it may take
    /// (a reserve its estimate; a commit its overage over the hold, or its whole actual while in flight, when late, or
    /// when committed by reservation id), until the status stream confirms it (the stream's mark passes the status mark
    /// of its answer, or the stream was opened after it finished); a call that failed without an answer counts until a
    /// call sent after it is confirmed; money given back (releases, expiries, commits under the estimate) counts only
    /// once the stream reports it. So, when no other client spends, a pre-check never reports more remaining than the
    /// silo has at that moment; it may report less.
    /// </para>
    /// <para>
    /// Other clients' spending is seen only through the stream: the silo may have less than this answer by what they
    /// took since the statuses were read, at most <see cref="PreCheckResult.Age"/> ago (an upper bound, from the silo's
    /// monotonic clock and the moment this client opened the stream; it assumes both clocks run at the same rate). The
    /// pre-check answers only while the stream is connected and synced and <see cref="PreCheckResult.Age"/> is at most
    /// <see cref="BudgetClientOptions.PreCheckStaleAfter"/>, and while every unconfirmed own call touching the chain has a
    /// known amount (a reserve or commit priced by the server has none until answered); otherwise it is
    /// <see cref="PreCheckVerdict.Unknown"/>. It checks frozen scopes, budgets and ended tasks, not rate limits or task
    /// guardrails: <see cref="PreCheckVerdict.Fits"/> is advice, and the reserve remains the only admission
    /// (docs/decisions/0012-precheck-cache.md).
    /// </para>
    /// </remarks>
    /// <param name="attribution">Who the call would be attributed to; the cache must be enabled for its chain.</param>
    /// <param name="estimateNanos">The estimate in nanos (0 or more).</param>
    /// <returns>Fits, denied (budget exhausted, frozen or task ended, with the first scope that would deny), or unknown and why.</returns>
    public PreCheckResult PreCheck(Attribution attribution, long estimateNanos)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        ArgumentOutOfRangeException.ThrowIfNegative(estimateNanos);
        return _preChecks.Evaluate(PreCheckCache.KeyOf(attribution), estimateNanos);
    }

    /// <summary>
    /// <see cref="PreCheck"/>, and when the cache cannot answer, a <see cref="CheckAsync(Attribution, long, TaskContext?, CancellationToken)"/>
    /// round trip (the answer then has <see cref="PreCheckResult.FromServer"/> set and covers rate limits and guardrails too).
    /// </summary>
    /// <param name="attribution">Who the call would be attributed to.</param>
    /// <param name="estimateNanos">The estimate in nanos (0 or more).</param>
    /// <param name="task">Where the call would sit inside its agent task, for the server's check; optional.</param>
    /// <param name="cancellationToken">Cancels the server's check (and its retries).</param>
    /// <exception cref="BudgetException">The cache could not answer and the server refused the check or could not be reached in time.</exception>
    public async Task<PreCheckResult> PreCheckAsync(Attribution attribution, long estimateNanos, TaskContext? task = null, CancellationToken cancellationToken = default)
    {
        var cached = PreCheck(attribution, estimateNanos);
        if (cached.IsKnown) return cached;
        var check = await CheckAsync(attribution, estimateNanos, task, cancellationToken).ConfigureAwait(false);
        return new PreCheckResult(check.Admitted ? PreCheckVerdict.Fits : PreCheckVerdict.Denied, check.Reason, check.DeniedScope,
            check.RemainingNanos, TimeSpan.Zero, FromServer: true);
    }

    /// <summary>A commit by amount; <paramref name="hold"/> (when the commit comes from one) tells the pre-check cache its chain and estimate.</summary>
    internal Task<CommitResult> CommitAsync(string reservationId, long actualNanos, string? outcome, BudgetHold? hold, CancellationToken cancellationToken) =>
        CommitCoreAsync(new V1.CommitRequest { ReservationId = reservationId, ActualNanos = actualNanos, Outcome = outcome ?? "" }, hold, actualNanos, cancellationToken);

    /// <summary>A commit with meters (priced by the server: its amount is known from the answer only).</summary>
    internal Task<CommitResult> CommitAsync(string reservationId, long actualNanos, string? outcome, IReadOnlyList<MeterUsage> meters, BudgetHold? hold,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var request = new V1.CommitRequest { ReservationId = reservationId, ActualNanos = actualNanos, Outcome = outcome ?? "" };
        request.Meters.Add(meters.Select(ToProto));
        return CommitCoreAsync(request, hold, meters.Count == 0 ? actualNanos : null, cancellationToken);
    }

    /// <summary>A commit by usage (priced by the server: its amount is known from the answer only).</summary>
    internal Task<CommitResult> CommitAsync(string reservationId, TokenUsage usage, string? outcome, BudgetHold? hold, CancellationToken cancellationToken) =>
        CommitCoreAsync(new V1.CommitRequest { ReservationId = reservationId, Usage = ToProto(usage), Outcome = outcome ?? "" }, hold, actual: null, cancellationToken);

    /// <summary>The reserved call did not happen: removes the hold, spends nothing.</summary>
    /// <param name="reservationId">The reservation (<see cref="BudgetHold.ReservationId"/>).</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <returns>True when released (now or by an identical earlier release); false when the hold had already expired.</returns>
    /// <exception cref="BudgetException">E.g. <see cref="BudgetErrorCode.FailedPrecondition"/> after a commit.</exception>
    public async Task<bool> ReleaseAsync(string reservationId, CancellationToken cancellationToken = default)
    {
        var request = new V1.ReleaseRequest { ReservationId = reservationId };
        var response = await InvokeAsync("Release", o => _admission.ReleaseAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return response.Released;
    }

    /// <summary>Would a reserve of <paramref name="estimateNanos"/> be admitted now, and what remains? No side effects.</summary>
    /// <param name="attribution">Who the call would be attributed to.</param>
    /// <param name="estimateNanos">The estimate in nanos.</param>
    /// <param name="task">Where the call would sit inside its agent task; optional.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <exception cref="BudgetException">The server refused the request, or could not be reached in time.</exception>
    public Task<CheckResult> CheckAsync(Attribution attribution, long estimateNanos, TaskContext? task = null, CancellationToken cancellationToken = default)
    {
        var request = new V1.CheckRequest { Attribution = ToProto(attribution), EstimateNanos = estimateNanos, Task = ToProto(task) };
        return CheckCoreAsync(request, cancellationToken);
    }

    /// <summary>Would a reserve of the server's price of <paramref name="estimateUsage"/> be admitted now? No side effects.</summary>
    /// <param name="attribution">Who the call would be attributed to.</param>
    /// <param name="estimateUsage">The expected tokens, priced by the server.</param>
    /// <param name="task">Where the call would sit inside its agent task; optional.</param>
    /// <param name="cancellationToken">Cancels the call (and its retries).</param>
    /// <exception cref="BudgetException">The server refused the request, or could not be reached in time.</exception>
    public Task<CheckResult> CheckAsync(Attribution attribution, TokenUsage estimateUsage, TaskContext? task = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(estimateUsage);
        var request = new V1.CheckRequest { Attribution = ToProto(attribution), EstimateUsage = ToProto(estimateUsage), Task = ToProto(task) };
        return CheckCoreAsync(request, cancellationToken);
    }

    /// <summary>Closes the connections. Holds still open stay held on the server until they expire.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _preChecks.Dispose();
            _channel.Dispose();
        }
    }

    /// <summary>Closes the connections (same as <see cref="Dispose"/>).</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private V1.ReserveRequest NewReserve(Attribution attribution, ReserveOptions? options)
    {
        var ttl = options?.HoldTtl ?? _options.DefaultHoldTtl;
        return new V1.ReserveRequest
        {
            // Chosen once, before the first attempt: every retry carries it, which is what makes retries safe.
            RequestId = options?.RequestId ?? Guid.NewGuid().ToString("N"),
            Attribution = ToProto(attribution),
            Task = ToProto(options?.TaskContext),
            HoldTtlMs = ttl is { } t ? (long)t.TotalMilliseconds : 0,
            EstimateMeters = { (options?.Meters ?? []).Select(ToProto) },
        };
    }

    private static V1.MeterUsage ToProto(MeterUsage meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        return new V1.MeterUsage { Meter = meter.Meter ?? "", Quantity = meter.Quantity };
    }

    private async Task<BudgetHold> ReserveCoreAsync(V1.ReserveRequest request, string chainKey, long? amount, CancellationToken cancellationToken)
    {
        var own = _preChecks.Begin(chainKey, amount);
        var (response, mark) = await TrackAsync(own, InvokeAsync("Reserve", o => WithStatusMarkAsync(_admission.ReserveAsync(request, o)), cancellationToken)).ConfigureAwait(false);
        if (response.Decision == V1.Decision.Admitted) _preChecks.Applied(own, response.HeldNanos, mark);
        else _preChecks.NoEffect(own);
        return response.Decision switch
        {
            V1.Decision.Admitted => BudgetHold.ForAdmitted(this, request.RequestId, response.ReservationId, response.HeldNanos, RemainingOf(response.RemainingNanos),
                response.ExpiresAtUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(response.ExpiresAtUnixMs) : null,
                response.CrossedThresholds.Select(ParseThreshold).ToArray(), chainKey),
            V1.Decision.Denied => BudgetHold.ForDenied(this, request.RequestId, ToReason(response.Reason), response.DeniedScope, RemainingOf(response.RemainingNanos),
                RetryAfterOf(response.RetryAfterMs)),
            _ => throw new BudgetException(BudgetErrorCode.Internal, $"the server answered Reserve without a decision ({response.Decision})", 1, null),
        };
    }

    /// <summary>
    /// While in flight, a commit may take its whole actual from the chain (its hold may have expired already); answered,
    /// it took its overage, or its whole actual when late. Without the hold, neither its chain nor its estimate is known.
    /// </summary>
    private async Task<CommitResult> CommitCoreAsync(V1.CommitRequest request, BudgetHold? hold, long? actual, CancellationToken cancellationToken)
    {
        var own = _preChecks.Begin(hold?.ChainKey, actual);
        var (response, mark) = await TrackAsync(own, InvokeAsync("Commit", o => WithStatusMarkAsync(_admission.CommitAsync(request, o)), cancellationToken)).ConfigureAwait(false);
        var taken = response.Late || hold is null ? response.ChargedNanos : Math.Max(0, response.ChargedNanos - hold.HeldNanos);
        _preChecks.Applied(own, taken, mark);
        return new CommitResult(response.ChargedNanos, response.Late, response.Overage);
    }

    /// <summary>
    /// Tells the pre-check cache how an own call ended when it ended without an answer: refused by the server (bad input,
    /// unknown reservation, a precondition), it changed nothing; otherwise (unreachable, deadline, cancelled) it may
    /// have taken effect.
    /// </summary>
    private async Task<T> TrackAsync<T>(PreCheckCache.OwnCall own, Task<T> call)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (BudgetException e) when (e.Code is BudgetErrorCode.InvalidArgument or BudgetErrorCode.NotFound or BudgetErrorCode.FailedPrecondition)
        {
            _preChecks.NoEffect(own);
            throw;
        }
        catch (Exception)
        {
            _preChecks.Failed(own);
            throw;
        }
    }

    private async Task<CheckResult> CheckCoreAsync(V1.CheckRequest request, CancellationToken cancellationToken)
    {
        var response = await InvokeAsync("Check", o => _admission.CheckAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return response.Decision switch
        {
            V1.Decision.Admitted => new CheckResult(true, null, null, RemainingOf(response.RemainingNanos)),
            V1.Decision.Denied => new CheckResult(false, ToReason(response.Reason), response.DeniedScope, RemainingOf(response.RemainingNanos),
                RetryAfterOf(response.RetryAfterMs)),
            _ => throw new BudgetException(BudgetErrorCode.Internal, $"the server answered Check without a decision ({response.Decision})", 1, null),
        };
    }

    /// <summary>One logical call: attempts within the overall deadline, retrying what is retryable after a jittered backoff.</summary>
    private async Task<TResponse> InvokeAsync<TResponse>(string operation, Func<CallOptions, Task<TResponse>> call, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        var deadline = DateTimeOffset.UtcNow + _options.Timeout;
        for (var attempt = 1; ; attempt++)
        {
            var now = DateTimeOffset.UtcNow;
            var attemptDeadline = _options.AttemptTimeout is { } perAttempt && now + perAttempt < deadline ? now + perAttempt : deadline;
            RpcException failure;
            try
            {
                // Grpc.Net.Client reports a passed deadline only once the HTTP request gives up, which can be much later
                // when the connection itself hangs (a server that accepts and never answers): the attempt ends on time
                // here, so that it is retried in time; the abandoned call ends at its own deadline.
                var answer = call(new CallOptions(deadline: attemptDeadline.UtcDateTime, cancellationToken: cancellationToken));
                return await answer.WaitAsync(Max(attemptDeadline - DateTimeOffset.UtcNow, TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException($"{operation} was cancelled by the caller", e, cancellationToken);
            }
            catch (RpcException e)
            {
                failure = e;
            }
            catch (TimeoutException e)
            {
                failure = new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded", e));
            }

            var left = deadline - DateTimeOffset.UtcNow;
            var delay = Backoff(attempt);
            if (!IsRetryable(failure) || attempt >= _options.MaxAttempts || delay >= left)
            {
                throw left <= TimeSpan.Zero || failure.StatusCode == StatusCode.DeadlineExceeded
                    ? new BudgetTimeoutException($"{operation} did not finish within {_options.Timeout.TotalMilliseconds:0} ms: {failure.Status.Detail}", attempt, failure)
                    : new BudgetException((BudgetErrorCode)failure.StatusCode, failure.Status.Detail, attempt, failure);
            }

            Logger.LogWarning("BudgetGrains {Operation} attempt {Attempt} failed ({Code}: {Detail}); retrying in {DelayMs} ms with the same id",
                operation, attempt, failure.StatusCode, failure.Status.Detail, (int)delay.TotalMilliseconds);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// UNAVAILABLE and an attempt's DEADLINE_EXCEEDED may not have reached the server, or its answer was lost; a transport
    /// failure reported as INTERNAL (a broken HTTP/2 connection) likewise. Anything else is the server's answer.
    /// </summary>
    private static bool IsRetryable(RpcException failure) => failure.StatusCode switch
    {
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => true,
        StatusCode.Internal => failure.Status.DebugException is HttpRequestException or IOException,
        _ => false,
    };

    /// <summary>Full jitter: uniform below an exponentially growing bound, so that clients that failed together do not retry together.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var bound = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * bound);
    }

    /// <summary>
    /// The answer with its status mark: the <c>budget-status-mark</c> trailer of a Reserve or Commit answer (0 when the silo
    /// sent none), which tells the pre-check cache when its status stream includes the call (docs/decisions/0012).
    /// </summary>
    private static async Task<(T Response, long StatusMark)> WithStatusMarkAsync<T>(AsyncUnaryCall<T> call)
    {
        using (call)
        {
            var response = await call.ResponseAsync.ConfigureAwait(false);
            var mark = call.GetTrailers().GetValue("budget-status-mark") is { } text
                && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed)
                    ? parsed
                    : 0;
            return (response, mark);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static long? RemainingOf(long nanos) => nanos == long.MaxValue ? null : nanos;

    private static DenyReason ToReason(V1.DenyReason reason) =>
        Enum.IsDefined((DenyReason)(int)reason) ? (DenyReason)(int)reason : DenyReason.Unspecified;

    private static TimeSpan? RetryAfterOf(long retryAfterMs) => retryAfterMs > 0 ? TimeSpan.FromMilliseconds(retryAfterMs) : null;

    /// <summary>"team/search:80" → (team/search, 80); the scope itself may contain ':' (budget/project:x), the percent is after the last one.</summary>
    private static ThresholdCrossing ParseThreshold(string text)
    {
        var colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), CultureInfo.InvariantCulture, out var percent)
            ? new ThresholdCrossing(text[..colon], percent)
            : throw new BudgetException(BudgetErrorCode.Internal, $"malformed threshold '{text}' in the server's answer", 1, null);
    }

    private static V1.Attribution ToProto(Attribution attribution)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        var proto = new V1.Attribution
        {
            Tenant = attribution.Tenant ?? "",
            Feature = attribution.Feature ?? "",
            Agent = attribution.Agent ?? "",
            Task = attribution.Task ?? "",
            Team = attribution.Team ?? "",
            CostCenter = attribution.CostCenter ?? "",
        };
        proto.Budgets.AddRange(attribution.Budgets);
        foreach (var (name, value) in attribution.Labels)
        {
            proto.Labels[name] = value;
        }

        return proto;
    }

    private static V1.TaskContext? ToProto(TaskContext? task) =>
        task is null ? null : new V1.TaskContext { Depth = task.Depth, IsRetry = task.IsRetry };

    private static V1.TokenUsage ToProto(TokenUsage usage) => new()
    {
        Model = usage.Model,
        InputTokens = usage.InputTokens,
        CachedInputTokens = usage.CachedInputTokens,
        OutputTokens = usage.OutputTokens,
        ReasoningTokens = usage.ReasoningTokens,
    };
}
