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

    /// <summary>
    /// Held while the scope has open holds. Release and expiry make their change durable before they
    /// tell the scope; a scope loaded from the store in between would count the release twice, so a
    /// scope with open holds is never collected for idleness.
    /// </summary>
    private IDisposable? _keepAlive;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var counters = await store.ReadCountersAsync(GrainKey, cancellationToken);
        (_spentNanos, _heldNanos, _openHolds, _commits, _denials) =
            (counters.SpentNanos, counters.HeldNanos, counters.OpenHolds, counters.Commits, counters.Denials);
        KeepAliveWhileHolding();
    }

    public Task<ScopeAnswer> TryHoldAsync(long amountNanos)
    {
        var answer = Evaluate(amountNanos);
        if (answer.Failure is not null) return Task.FromResult(answer);
        if (!answer.Admitted)
        {
            _denials++;
            return Task.FromResult(answer);
        }
        _heldNanos = checked(_heldNanos + amountNanos);
        _openHolds++;
        KeepAliveWhileHolding();
        return Task.FromResult(answer);
    }

    public Task<ScopeAnswer> CheckAsync(long amountNanos) => Task.FromResult(Evaluate(amountNanos));

    public Task ReleaseHoldAsync(long amountNanos)
    {
        _heldNanos -= amountNanos;
        _openHolds--;
        KeepAliveWhileHolding();
        return Task.CompletedTask;
    }

    public Task CommitAsync(long heldNanos, bool closesHold, long actualNanos)
    {
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

    public Task UndoCommitAsync(long heldNanos, bool closesHold, long actualNanos)
    {
        if (closesHold)
        {
            _heldNanos += heldNanos;
            _openHolds++;
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

    /// <summary>The admission rule of DESIGN.md §4 for this scope: spent + held + amount &lt;= limit, not frozen.</summary>
    private ScopeAnswer Evaluate(long amountNanos)
    {
        var state = State;
        if (_openHolds >= Limits.MaxOpenHoldsPerScope)
            return new ScopeAnswer(false, DenyReason.None, RemainingNanos(), state.Parent, NoThresholds,
                Failure.Exhausted($"scope {GrainKey} has {_openHolds} open holds; the limit is {Limits.MaxOpenHoldsPerScope}"));
        if (state.Frozen)
            return new ScopeAnswer(false, DenyReason.Frozen, RemainingNanos(), state.Parent, NoThresholds);
        if (state.LimitNanos == 0)
            return new ScopeAnswer(true, DenyReason.None, Remaining.Unlimited, state.Parent, NoThresholds);

        // Int128: spent may exceed the limit after overage, and the sum must not wrap.
        Int128 committed = (Int128)_spentNanos + _heldNanos;
        if (committed + amountNanos > state.LimitNanos)
            return new ScopeAnswer(false, DenyReason.BudgetExhausted, RemainingNanos(), state.Parent, NoThresholds);
        return new ScopeAnswer(true, DenyReason.None, (long)(state.LimitNanos - committed - amountNanos), state.Parent,
            CrossedThresholds(committed, committed + amountNanos));
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
        PeriodStartUnixMs: 0, State.Parent, State.Frozen, State.ThresholdPercents, State.Currency, _denials, _commits);
}
