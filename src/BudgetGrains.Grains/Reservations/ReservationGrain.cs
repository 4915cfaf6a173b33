using BudgetGrains.Actors;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Estimates;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Grains.Reservations;

/// <summary>
/// See <see cref="IReservationGrain"/>. Order of effects, chosen so the in-memory counters are
/// never below the durable truth (I1 holds in memory and after a crash):
/// reserve and commit change the scopes first, then write, and undo the scopes if the write fails;
/// release and expiry write first, then change the scopes.
/// </summary>
[GrainType(GrainTypes.Reservation)]
internal sealed class ReservationGrain(PriceCatalog prices, ILogger<ReservationGrain> logger)
    : Grain<ReservationState>, IReservationGrain
{
    /// <summary>When an expiry could not be written, try again after this long.</summary>
    private static readonly TimeSpan ExpiryRetryDelay = TimeSpan.FromSeconds(5);

    private static readonly string[] None = [];

    private IDisposable? _expiryTimer;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (State.Status != ReservationStatus.Admitted) return;
        // Release and expiry write before they tell the scopes, so the scopes must be loaded first:
        // one loaded after the write would count the release twice. (Scopes with open holds then
        // stay active; see ScopeGrain.)
        var reservationId = GrainKey;
        await Task.WhenAll(State.Chain.Select(scope => GrainFactory.GetGrain<IScopeGrain>(scope).TrackOpenHoldAsync(reservationId)));
        ArmExpiry();
    }

    public Task WakeAsync() => Task.CompletedTask;

    public async Task<Result<ReserveAnswer>> ReserveAsync(ReserveCommand command)
    {
        var fingerprint = Fingerprints.Of(command);
        if (State.Status != ReservationStatus.New)
            return State.Fingerprint == fingerprint
                ? State.Answer!
                : Failure.Precondition($"request_id '{GrainKey}' was already used with different parameters");

        var a = command.Attribution;
        var estimateKey = a.Feature.Length == 0 ? "" : EstimateKeys.Of(a.Feature, a.LabelMap.GetValueOrDefault("model", ""));
        var (amount, source) = (command.EstimateNanos, EstimateSource.Given);
        if (command.EstimateUsage is { } usage)
        {
            if (!prices.TryPrice(usage, out amount))
                return await FinishDeniedAsync(fingerprint, Denied(DenyReason.UnknownPrice, "", Remaining.Unlimited), []);
            if (amount > Limits.MaxCallAmountNanos) return PricedTooHigh(amount);
            source = EstimateSource.PricedUsage;
        }
        else if (amount == 0)
        {
            if (await GrainFactory.GetGrain<IEstimateGrain>(estimateKey).P95Async() is not { } learned)
                return Failure.Precondition($"no estimate given, and feature '{a.Feature}' (model label '{a.LabelMap.GetValueOrDefault("model", "")}') " +
                    $"has fewer than {Limits.MinLearnedSamples} commits to learn one from: give estimate_nanos or estimate_usage");
            (amount, source) = (learned, EstimateSource.Learned);
        }

        var tokens = command.EstimateUsage?.Total ?? 0;
        var walk = await AdmissionChain.WalkAsync(GrainFactory, command.Attribution, scope => scope.TryHoldAsync(amount, tokens));
        if (walk.Failure is not null || walk.DeniedAt is not null)
        {
            await UndoHoldsAsync(walk.Passed, amount, tokens);
            if (walk.Failure is not null) return walk.Failure;
            var denied = Denied(walk.DeniedAt!.Reason, walk.DeniedScope, walk.DeniedAt.RemainingNanos) with { RetryAfterMs = walk.DeniedAt.RetryAfterMs };
            return await FinishDeniedAsync(fingerprint, denied, [new ScopeCounterDelta(walk.DeniedScope, Denials: 1)]);
        }

        var (taskScope, taskCall) = (command.Attribution.TaskScope, (TaskCall?)null);
        if (taskScope.Length > 0)
        {
            taskCall = new TaskCall(GrainKey, command.Task.Depth, command.Task.IsRetry, walk.InheritedTaskPolicy(command.Attribution), amount, AlreadyHeld: true);
            ScopeAnswer verdict;
            try
            {
                verdict = await GrainFactory.GetGrain<IScopeGrain>(taskScope).AdmitTaskCallAsync(taskCall);
            }
            catch (GrainOverloadedException e)
            {
                await UndoHoldsAsync(walk.Passed, amount, tokens);
                return Failure.Exhausted(e.Message);
            }
            if (!verdict.Admitted)
            {
                await UndoHoldsAsync(walk.Passed, amount, tokens);
                return await FinishDeniedAsync(fingerprint, Denied(verdict.Reason, taskScope, verdict.RemainingNanos),
                    [new ScopeCounterDelta(taskScope, Denials: 1)]);
            }
        }

        var now = NowUnixMs();
        var expiresAt = now + walk.EffectivePolicy(command.Attribution).EffectiveHoldTtlMs(command.HoldTtlMs);
        var answer = new ReserveAnswer(true, GrainKey, DenyReason.None, "", walk.RemainingNanos, expiresAt,
            walk.CrossedThresholds.Count == 0 ? None : walk.CrossedThresholds.ToArray(), amount, EstimateSource: source);
        var journal = new List<IJournalRecord>(walk.Passed.Count + 1);
        foreach (var scope in walk.Passed)
            journal.Add(scope == taskScope
                ? new ScopeCounterDelta(scope, HeldNanos: amount, OpenHolds: 1, Calls: 1, Retries: command.Task.IsRetry ? 1 : 0, DepthMaxSeen: command.Task.Depth)
                : new ScopeCounterDelta(scope, HeldNanos: amount, OpenHolds: 1));
        journal.Add(new HoldOpened(GrainKey, expiresAt));
        var admitted = new ReservationState
        {
            Status = ReservationStatus.Admitted,
            Fingerprint = fingerprint,
            Answer = answer,
            Chain = [.. walk.Passed],
            HeldNanos = amount,
            ReservedAtUnixMs = now,
            ExpiresAtUnixMs = expiresAt,
            Labels = new Dictionary<string, string>(command.Attribution.LabelMap),
            EstimateKey = estimateKey,
        };
        if (await PersistAsync(admitted, journal) is { } failure)
        {
            if (taskCall is not null) await GrainFactory.GetGrain<IScopeGrain>(taskScope).UndoTaskCallAsync(taskCall);
            await UndoHoldsAsync(walk.Passed, amount, tokens);
            return failure;
        }
        ArmExpiry();
        return answer;

        ReserveAnswer Denied(DenyReason reason, string scope, long remaining) =>
            new(false, "", reason, scope, remaining, 0, None, 0);
    }

    public async Task<Result<CommitAnswer>> CommitAsync(CommitCommand command)
    {
        switch (State.Status)
        {
            case ReservationStatus.New or ReservationStatus.Denied:
                return Failure.NotFound($"no admitted reservation '{GrainKey}'");
            case ReservationStatus.Released:
                return Failure.Precondition($"reservation '{GrainKey}' was released; it cannot be committed");
            case ReservationStatus.Committed:
                return State.CommitFingerprint == Fingerprints.Of(command)
                    ? State.CommitAnswer!
                    : Failure.Precondition($"reservation '{GrainKey}' was already committed with different parameters");
        }

        var actual = command.ActualNanos;
        if (command.Usage is { } usage && !prices.TryPrice(usage, out actual))
            return Failure.Precondition($"no price for model '{usage.Model}'; send actual_nanos instead");
        if (actual > Limits.MaxCallAmountNanos) return PricedTooHigh(actual);

        var now = NowUnixMs();
        var closesHold = State.Status == ReservationStatus.Admitted;
        var held = State.HeldNanos;
        var answer = new CommitAnswer(actual, Late: !closesHold || now > State.ExpiresAtUnixMs, Overage: actual > held);
        var id = GrainKey;
        if (await ApplyToChainAsync(s => s.CommitAsync(id, held, closesHold, actual), s => s.UndoCommitAsync(id, held, closesHold, actual)) is { } unreachable)
            return unreachable;

        var journal = new List<IJournalRecord>(State.Chain.Length + 2);
        foreach (var scope in State.Chain)
            journal.Add(new ScopeCounterDelta(scope, SpentNanos: actual, HeldNanos: closesHold ? -held : 0, OpenHolds: closesHold ? -1 : 0, Commits: 1));
        journal.Add(new LedgerEntry(GrainKey, State.Chain, State.Labels, held, actual, command.Usage?.Model ?? "",
            command.Usage?.InputTokens ?? 0, command.Usage?.CachedInputTokens ?? 0, command.Usage?.OutputTokens ?? 0,
            command.Usage?.ReasoningTokens ?? 0, command.Outcome, answer.Late, answer.Overage, State.ReservedAtUnixMs, now));
        if (closesHold) journal.Add(new HoldClosed(GrainKey, State.ExpiresAtUnixMs));
        var committed = State with { Status = ReservationStatus.Committed, CommitFingerprint = Fingerprints.Of(command), CommitAnswer = answer };
        if (await PersistAsync(committed, journal) is { } failure)
        {
            await ApplyToChainAsync(s => s.UndoCommitAsync(id, held, closesHold, actual), undo: null);
            return failure;
        }
        if (State.EstimateKey.Length > 0) LearnFrom(actual);
        Finish();
        return answer;
    }

    public async Task<Result<ReleaseAnswer>> ReleaseAsync()
    {
        switch (State.Status)
        {
            case ReservationStatus.New or ReservationStatus.Denied:
                return Failure.NotFound($"no admitted reservation '{GrainKey}'");
            case ReservationStatus.Committed:
                return Failure.Precondition($"reservation '{GrainKey}' was committed; it cannot be released");
            case ReservationStatus.Released:
                return new ReleaseAnswer(true);
            case ReservationStatus.Expired:
                return new ReleaseAnswer(false);
        }
        if (await CloseHoldAsync(ReservationStatus.Released) is { } failure) return failure;
        return new ReleaseAnswer(true);
    }

    private async Task ExpireAsync(CancellationToken cancellationToken)
    {
        if (State.Status != ReservationStatus.Admitted) return;
        if (await CloseHoldAsync(ReservationStatus.Expired) is not null)
            _expiryTimer = RegisterTimer(ExpireAsync, ExpiryRetryDelay, Timeout.InfiniteTimeSpan, keepAlive: true);
    }

    /// <summary>Release or expiry: durable first, then the scopes (memory never shows less held than the store).</summary>
    private async Task<Failure?> CloseHoldAsync(ReservationStatus status)
    {
        var held = State.HeldNanos;
        var journal = new List<IJournalRecord>(State.Chain.Length + 1);
        foreach (var scope in State.Chain) journal.Add(new ScopeCounterDelta(scope, HeldNanos: -held, OpenHolds: -1));
        journal.Add(new HoldClosed(GrainKey, State.ExpiresAtUnixMs));
        var chain = State.Chain;
        if (await PersistAsync(State with { Status = status }, journal) is { } failure) return failure;
        await ReleaseHoldsAsync(chain, held);
        Finish();
        return null;
    }

    private async Task<Result<ReserveAnswer>> FinishDeniedAsync(string fingerprint, ReserveAnswer answer, IReadOnlyList<IJournalRecord> journal)
    {
        var denied = new ReservationState { Status = ReservationStatus.Denied, Fingerprint = fingerprint, Answer = answer, ReservedAtUnixMs = NowUnixMs() };
        if (await PersistAsync(denied, journal) is { } failure)
        {
            if (answer.DeniedScope.Length > 0) await GrainFactory.GetGrain<IScopeGrain>(answer.DeniedScope).UndoDenialAsync();
            return failure;
        }
        Finish();
        return answer;
    }

    /// <summary>Makes <paramref name="next"/> the state, durably with <paramref name="journal"/>; on failure the state is unchanged.</summary>
    private async Task<Failure?> PersistAsync(ReservationState next, IReadOnlyList<IJournalRecord> journal)
    {
        var previous = State;
        State = next;
        try
        {
            await WriteStateAsync(journal);
            return null;
        }
        catch (StorageUnavailableException e)
        {
            State = previous;
            logger.LogWarning(e, "Reservation {ReservationId} could not be made durable", GrainKey);
            return Failure.Unavailable("the change could not be made durable; retry with the same id");
        }
    }

    /// <summary>Applies a change to every scope of the chain at once; if any scope fails, undoes it on the others.</summary>
    private async Task<Failure?> ApplyToChainAsync(Func<IScopeGrain, Task> apply, Func<IScopeGrain, Task>? undo)
    {
        var scopes = State.Chain;
        var calls = new Task[scopes.Length];
        for (var i = 0; i < scopes.Length; i++) calls[i] = apply(GrainFactory.GetGrain<IScopeGrain>(scopes[i]));
        try
        {
            await Task.WhenAll(calls);
            return null;
        }
        catch (Exception e) when (e is GrainOverloadedException or StorageUnavailableException or System.Data.Common.DbException)
        {
            if (undo is not null)
                for (var i = 0; i < scopes.Length; i++)
                    if (calls[i].IsCompletedSuccessfully) await undo(GrainFactory.GetGrain<IScopeGrain>(scopes[i]));
            logger.LogWarning(e, "Reservation {ReservationId} could not reach its chain", GrainKey);
            return e is GrainOverloadedException ? Failure.Exhausted(e.Message) : Failure.Unavailable(e.Message);
        }
    }

    private Task ReleaseHoldsAsync(IReadOnlyList<string> scopes, long amount) =>
        OnEveryScopeAsync(scopes, scope => scope.ReleaseHoldAsync(GrainKey, amount));

    private Task UndoHoldsAsync(IReadOnlyList<string> scopes, long amount, long tokens) =>
        OnEveryScopeAsync(scopes, scope => scope.UndoHoldAsync(GrainKey, amount, tokens));

    private async Task OnEveryScopeAsync(IReadOnlyList<string> scopes, Func<IScopeGrain, Task> change)
    {
        if (scopes.Count == 0) return;
        var calls = new Task[scopes.Count];
        for (var i = 0; i < scopes.Count; i++) calls[i] = change(GrainFactory.GetGrain<IScopeGrain>(scopes[i]));
        try
        {
            await Task.WhenAll(calls);
        }
        catch (Exception e)
        {
            // The store is right; only this silo's memory keeps the hold (conservative) until the scope reactivates.
            logger.LogError(e, "Reservation {ReservationId}: a scope kept a released hold in memory", GrainKey);
        }
    }

    private static Failure PricedTooHigh(long nanos) =>
        Failure.Invalid($"the usage prices at {nanos} nanos, over the {Limits.MaxCallAmountNanos} a single call may cost");

    /// <summary>Feeds the feature's learned estimate. Not awaited: the commit is durable and answered already, and a lost
    /// sample only makes the estimate a little older.</summary>
    private void LearnFrom(long actualNanos)
    {
        var key = State.EstimateKey;
        GrainFactory.GetGrain<IEstimateGrain>(key).RecordAsync(actualNanos).ContinueWith(
            t => logger.LogWarning(t.Exception, "Estimate {Key} missed a sample", key),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private void ArmExpiry()
    {
        var due = TimeSpan.FromMilliseconds(Math.Max(0, State.ExpiresAtUnixMs - NowUnixMs()));
        _expiryTimer = RegisterTimer(ExpireAsync, due, Timeout.InfiniteTimeSpan, keepAlive: true);
    }

    /// <summary>The reservation is settled: nothing will change it, so its activation can go (retries reload it).</summary>
    private void Finish()
    {
        _expiryTimer?.Dispose();
        _expiryTimer = null;
        DeactivateOnIdle();
    }

    private long NowUnixMs() => TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
}
