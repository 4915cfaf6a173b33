using BudgetGrains.Actors;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Storage;

namespace BudgetGrains.Grains.Scopes;

/// <summary>See <see cref="IScopeGrain"/>.</summary>
[GrainType(GrainTypes.Scope)]
internal sealed class ScopeGrain(IBudgetStore store) : Grain<ScopeState>, IScopeGrain
{
    private static readonly string[] NoThresholds = [];

    private long _spentNanos;
    private long _heldNanos;
    private int _openHolds;
    private long _commits;
    private long _denials;
    private long _calls;
    private long _retries;
    private int _depthMaxSeen;

    /// <summary>Task scopes: reservations admitted here and still open, so that ending the task releases them.</summary>
    private readonly HashSet<string> _openReservations = new(StringComparer.Ordinal);

    /// <summary>
    /// Held while the scope has open holds. Release and expiry make their change durable before they
    /// tell the scope; a scope loaded from the store in between would count the release twice, so a
    /// scope with open holds is never collected for idleness.
    /// </summary>
    private IDisposable? _keepAlive;

    // Rate limits live in memory: after a restart or a reactivation a scope starts with full buckets.
    private RateBucket? _requests;
    private RateBucket? _tokens;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var counters = await store.ReadCountersAsync(GrainKey, cancellationToken);
        (_spentNanos, _heldNanos, _openHolds, _commits, _denials, _calls, _retries, _depthMaxSeen) =
            (counters.SpentNanos, counters.HeldNanos, counters.OpenHolds, counters.Commits, counters.Denials,
             counters.Calls, counters.Retries, counters.DepthMaxSeen);
        KeepAliveWhileHolding();
    }

    public Task<ScopeAnswer> TryHoldAsync(long amountNanos, long tokens)
    {
        var answer = Evaluate(amountNanos, tokens);
        if (answer.Failure is not null) return Task.FromResult(answer);
        if (!answer.Admitted)
        {
            _denials++;
            return Task.FromResult(answer);
        }
        _heldNanos = checked(_heldNanos + amountNanos);
        _openHolds++;
        _requests?.Take(1);
        _tokens?.Take(tokens);
        KeepAliveWhileHolding();
        return Task.FromResult(answer);
    }

    public Task<ScopeAnswer> CheckAsync(long amountNanos, long tokens) => Task.FromResult(Evaluate(amountNanos, tokens));

    public Task ReleaseHoldAsync(string reservationId, long amountNanos)
    {
        _openReservations.Remove(reservationId);
        _heldNanos -= amountNanos;
        _openHolds--;
        KeepAliveWhileHolding();
        return Task.CompletedTask;
    }

    public Task UndoHoldAsync(string reservationId, long amountNanos, long tokens)
    {
        _requests?.Refund(1);
        _tokens?.Refund(tokens);
        return ReleaseHoldAsync(reservationId, amountNanos);
    }

    public Task CommitAsync(string reservationId, long heldNanos, bool closesHold, long actualNanos)
    {
        _openReservations.Remove(reservationId);
        if (closesHold)
        {
            _heldNanos -= heldNanos;
            _openHolds--;
        }
        _spentNanos = checked(_spentNanos + actualNanos);
        _commits++;
        KeepAliveWhileHolding();
        return Task.CompletedTask;
    }

    public Task UndoCommitAsync(string reservationId, long heldNanos, bool closesHold, long actualNanos)
    {
        if (closesHold)
        {
            _heldNanos += heldNanos;
            _openHolds++;
            if (IsTask) _openReservations.Add(reservationId);
        }
        _spentNanos -= actualNanos;
        _commits--;
        KeepAliveWhileHolding();
        return Task.CompletedTask;
    }

    public Task UndoDenialAsync()
    {
        _denials--;
        return Task.CompletedTask;
    }

    public Task<ScopeAnswer> AdmitTaskCallAsync(TaskCall call)
    {
        var answer = EvaluateTaskCall(call);
        if (!answer.Admitted)
        {
            _denials++;
            return Task.FromResult(answer);
        }
        _calls++;
        if (call.IsRetry) _retries++;
        _depthMaxSeen = Math.Max(_depthMaxSeen, call.Depth);
        _openReservations.Add(call.ReservationId);
        return Task.FromResult(answer);
    }

    public Task<ScopeAnswer> CheckTaskCallAsync(TaskCall call) => Task.FromResult(EvaluateTaskCall(call));

    public Task UndoTaskCallAsync(TaskCall call)
    {
        // The deepest depth seen is not undone: it is an observation, not a limit being consumed.
        _calls--;
        if (call.IsRetry) _retries--;
        _openReservations.Remove(call.ReservationId);
        return Task.CompletedTask;
    }

    public Task TrackOpenHoldAsync(string reservationId)
    {
        if (IsTask) _openReservations.Add(reservationId);
        return Task.CompletedTask;
    }

    public async Task<TaskPolicy> SetTaskPolicyAsync(TaskPolicy policy)
    {
        var previous = State.TaskPolicy;
        State.TaskPolicy = policy.IsEmpty ? null : policy;
        try
        {
            await WriteStateAsync();
        }
        catch (StorageUnavailableException)
        {
            State.TaskPolicy = previous;
            throw;
        }
        return policy;
    }

    public Task<TaskPolicy> GetTaskPolicyAsync() => Task.FromResult(State.TaskPolicy ?? TaskPolicy.None);

    public async Task<IReadOnlyList<string>> EndTaskAsync()
    {
        if (!State.Ended)
        {
            State.Ended = true;
            try
            {
                await WriteStateAsync();
            }
            catch (StorageUnavailableException)
            {
                State.Ended = false;
                throw;
            }
        }
        return [.. _openReservations];
    }

    public Task<BudgetStatus> GetStatusAsync() => Task.FromResult(Status());

    public async Task<BudgetStatus> SetBudgetAsync(BudgetSettings settings)
    {
        var previous = State;
        State = new ScopeState
        {
            HasBudget = true,
            LimitNanos = settings.LimitNanos,
            Period = settings.Period,
            ThresholdPercents = [.. settings.ThresholdPercents],
            Parent = settings.Parent,
            Frozen = settings.Frozen,
            Currency = settings.Currency,
            UpdatedAtUnixMs = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            TaskPolicy = previous.TaskPolicy,
            Ended = previous.Ended,
            RequestsPerMinute = settings.RequestsPerMinute,
            TokensPerMinute = settings.TokensPerMinute,
        };
        try
        {
            await WriteStateAsync();
        }
        catch (StorageUnavailableException)
        {
            State = previous;
            throw;
        }
        return Status();
    }

    private bool IsTask => GrainKey.StartsWith(ScopeIds.Task + "/", StringComparison.Ordinal);

    private void KeepAliveWhileHolding()
    {
        if (_openHolds > 0)
        {
            _keepAlive ??= KeepAlive();
        }
        else
        {
            _keepAlive?.Dispose();
            _keepAlive = null;
        }
    }

    /// <summary>
    /// The task limits of DESIGN.md §4: depth &lt;= max_depth, retries &lt;= max_retries, calls &lt; max_calls, and the
    /// task's spend cap (spent + held + this call's estimate, which a reserve already holds here).
    /// </summary>
    private ScopeAnswer EvaluateTaskCall(TaskCall call)
    {
        var policy = (State.TaskPolicy ?? TaskPolicy.None).Over(call.Inherited);
        Int128 others = (Int128)_spentNanos + _heldNanos - (call.AlreadyHeld ? call.AmountNanos : 0);
        var reason =
            State.Ended ? DenyReason.TaskEnded
            : call.Depth > policy.MaxDepth ? DenyReason.DepthLimit
            : call.IsRetry && _retries + 1 > policy.MaxRetries ? DenyReason.RetryLimit
            : _calls + 1 > policy.MaxCalls ? DenyReason.CallLimit
            : others + call.AmountNanos > policy.MaxSpendNanos ? DenyReason.BudgetExhausted
            : DenyReason.None;
        // Like a scope's answer: what remains after this call when admitted, before it when denied.
        var remaining = policy.MaxSpendNanos is not { } cap ? Remaining.Unlimited
            : (long)Int128.Max(0, cap - others - (reason == DenyReason.None ? call.AmountNanos : 0));
        return new ScopeAnswer(reason == DenyReason.None, reason, remaining, State.Parent, NoThresholds);
    }

    /// <summary>
    /// The admission rule of DESIGN.md §4 for this scope: not frozen, spent + held + amount &lt;= limit, then the rate
    /// limits. A scope that denies for its budget does not consume rate: only requests it would admit count.
    /// </summary>
    private ScopeAnswer Evaluate(long amountNanos, long tokens)
    {
        var answer = EvaluateBudget(amountNanos);
        if (!answer.Admitted || (State.RequestsPerMinute == 0 && State.TokensPerMinute == 0)) return answer;
        var now = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var retryAfter = Math.Max(
            Bucket(ref _requests, State.RequestsPerMinute, now)?.RetryAfterMs(1, now) ?? 0,
            tokens == 0 ? 0 : Bucket(ref _tokens, State.TokensPerMinute, now)?.RetryAfterMs(tokens, now) ?? 0);
        return retryAfter == 0
            ? answer
            : answer with { Admitted = false, Reason = DenyReason.RateLimited, RetryAfterMs = retryAfter, CrossedThresholds = NoThresholds };
    }

    /// <summary>The bucket for a rate, made (full) on first use or when the rate changed; null when there is no limit.</summary>
    private static RateBucket? Bucket(ref RateBucket? bucket, long perMinute, long nowUnixMs)
    {
        if (perMinute == 0) return bucket = null;
        if (bucket?.PerMinute != perMinute) bucket = new RateBucket(perMinute, nowUnixMs);
        return bucket;
    }

    private ScopeAnswer EvaluateBudget(long amountNanos)
    {
        var state = State;
        if (_openHolds >= Limits.MaxOpenHoldsPerScope)
            return new ScopeAnswer(false, DenyReason.None, RemainingNanos(), state.Parent, NoThresholds,
                Failure.Exhausted($"scope {GrainKey} has {_openHolds} open holds; the limit is {Limits.MaxOpenHoldsPerScope}"));
        if (state.Frozen)
            return new ScopeAnswer(false, DenyReason.Frozen, RemainingNanos(), state.Parent, NoThresholds);
        if (state.LimitNanos == 0)
            return new ScopeAnswer(true, DenyReason.None, Remaining.Unlimited, state.Parent, NoThresholds, Policy: state.TaskPolicy);

        // Int128: spent may exceed the limit after overage, and the sum must not wrap.
        Int128 committed = (Int128)_spentNanos + _heldNanos;
        if (committed + amountNanos > state.LimitNanos)
            return new ScopeAnswer(false, DenyReason.BudgetExhausted, RemainingNanos(), state.Parent, NoThresholds);
        return new ScopeAnswer(true, DenyReason.None, (long)(state.LimitNanos - committed - amountNanos), state.Parent,
            CrossedThresholds(committed, committed + amountNanos), Policy: state.TaskPolicy);
    }

    private long RemainingNanos()
    {
        if (State.LimitNanos == 0) return Remaining.Unlimited;
        var remaining = (Int128)State.LimitNanos - _spentNanos - _heldNanos;
        return remaining < 0 ? 0 : (long)remaining;
    }

    private IReadOnlyList<string> CrossedThresholds(Int128 before, Int128 after)
    {
        List<string>? crossed = null;
        foreach (var percent in State.ThresholdPercents)
        {
            var mark = (Int128)State.LimitNanos * percent / 100;
            if (before < mark && after >= mark) (crossed ??= []).Add($"{GrainKey}:{percent}");
        }
        return crossed ?? (IReadOnlyList<string>)NoThresholds;
    }

    private BudgetStatus Status() => new(
        GrainKey, State.HasBudget, State.LimitNanos, _spentNanos, _heldNanos, _openHolds, State.Period,
        PeriodStartUnixMs: 0, State.Parent, State.Frozen, State.ThresholdPercents, State.Currency, _denials, _commits,
        _calls, _retries, _depthMaxSeen, State.Ended, State.RequestsPerMinute, State.TokensPerMinute);
}
