using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Grains.Settings;
using BudgetGrains.Grains.Meters;
using Orleans.Runtime;

namespace BudgetGrains.Grains.Scopes;

/// <summary>See <see cref="IScopeGrain"/>.</summary>
[GrainType(GrainTypes.Scope)]
internal sealed class ScopeGrain(IBudgetStore store, AlertSignal alertSignal, JournalService journal, TimeProvider clock, ScopeDefaults defaults,
    Microsoft.Extensions.Logging.ILogger<ScopeGrain> logger, ScopeActivations activations, IMeterStore meterStore) : Grain, IScopeGrain, IIncomingGrainCallFilter
{
    private static readonly string[] NoThresholds = [];

    /// <summary>The period timer is re-armed at least this often, so a far boundary needs no long timer.</summary>
    private static readonly TimeSpan LongestPeriodTimer = TimeSpan.FromDays(1);

    // Counters of the current period (held and open holds belong to the scope: holds carry over a boundary).
    private long _spentNanos;
    private long _heldNanos;
    private int _openHolds;
    private long _commits;
    private long _denials;
    private long _calls;
    private long _retries;
    private int _depthMaxSeen;

    /// <summary>Quantities per meter (docs/decisions/0041); null until the scope has counted a meter, so calls without
    /// meters never touch it.</summary>
    private ScopeMeterCounts? _meters;

    /// <summary>Task scopes: reservations admitted here and still open, so that ending the task releases them.</summary>
    private readonly HashSet<string> _openReservations = new(StringComparer.Ordinal);


    // Rate limits live in memory: after a restart or a reactivation a scope starts with full buckets.
    private RateBucket? _requests;
    private RateBucket? _tokens;

    private readonly SpendWatch _watch = new();
    private IDisposable? _periodTimer;
    private bool _keptAlive;
    private DurableState<ScopeState> _state = null!;

    /// <summary>This activation's claim on the scope in the store (DESIGN.md §7): writes it admitted carry it.</summary>
    private long _epoch;
    private ScopeFence[] _fence = [];
    private bool _fencedOut;

    /// <summary>The configuration gives this scope's kind a default budget (fixed for the silo's life).</summary>
    private bool _kindHasDefault;

    private string GrainKey { get; set; } = "";

    private ScopeState State
    {
        get => _state.Value;
        set => _state.Value = value;
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        GrainKey = this.GetPrimaryKeyString();
        _kindHasDefault = defaults.DefaultFor(GrainKey) is not null;
        _state = new DurableState<ScopeState>(journal, new StateKey(GrainTypes.Scope, GrainKey), BudgetStateJsonContext.Default.ScopeState);
        // Claim first, then read: a stale activation's write is either committed before the claim (and read below) or refused.
        _epoch = await journal.ClaimEpochAsync(GrainKey, cancellationToken);
        _fence = [new ScopeFence(GrainKey, _epoch)];
        Microsoft.Extensions.Logging.LoggerExtensions.LogDebug(logger, "Scope {Scope} activated with epoch {Epoch}", GrainKey, _epoch);
        activations.Add(GrainKey, _epoch);
        await _state.ReadAsync(cancellationToken);
        var counters = await store.ReadCountersAsync(GrainKey, State.PeriodStartUnixMs, cancellationToken);
        (_spentNanos, _heldNanos, _openHolds, _commits, _denials, _calls, _retries, _depthMaxSeen) =
            (counters.SpentNanos, counters.HeldNanos, counters.OpenHolds, counters.Commits, counters.Denials,
             counters.Calls, counters.Retries, counters.DepthMaxSeen);
        await LoadMeterCountsAsync(cancellationToken);
        KeepAliveWhileHolding();
        await RollPeriodIfDueAsync();
        ArmPeriodTimer();
    }

    public async Task<ScopeAnswer> TryHoldAsync(long amountNanos, long tokens, IReadOnlyList<MeterQuantity> meters)
    {
        await RollPeriodIfDueAsync();
        await FollowDefaultBudgetAsync();
        var answer = EvaluateWithMeters(amountNanos, tokens, meters);
        if (answer.Failure is not null) return answer;
        if (!answer.Admitted)
        {
            _denials++;
            return answer with { PeriodStartUnixMs = State.PeriodStartUnixMs };
        }
        _heldNanos = checked(_heldNanos + amountNanos);
        _openHolds++;
        if (meters.Count > 0) MeterCounts.Add(meters, +1);
        _requests?.Take(1);
        _tokens?.Take(tokens);
        KeepAliveWhileHolding();
        return answer with { Epoch = _epoch };
    }

    public async Task<ScopeAnswer> CheckAsync(long amountNanos, long tokens, IReadOnlyList<MeterQuantity> meters)
    {
        await RollPeriodIfDueAsync();
        // No side effects: a default budget not applied yet is evaluated as if it were (its counters are this scope's).
        if (PendingDefault() is not { } pending) return EvaluateWithMeters(amountNanos, tokens, meters);
        var kept = State;
        State = pending;
        try
        {
            return EvaluateWithMeters(amountNanos, tokens, meters);
        }
        finally
        {
            State = kept;
        }
    }

    public Task ReleaseHoldAsync(string reservationId, long amountNanos, long epoch, IReadOnlyList<MeterQuantity> meters)
    {
        if (epoch != _epoch) return Task.CompletedTask;
        _openReservations.Remove(reservationId);
        _heldNanos -= amountNanos;
        _openHolds--;
        if (meters.Count > 0) MeterCounts.Add(meters, -1);
        KeepAliveWhileHolding();
        return Task.CompletedTask;
    }

    public Task UndoHoldAsync(string reservationId, long amountNanos, long tokens, long epoch, IReadOnlyList<MeterQuantity> meters)
    {
        if (epoch != _epoch) return Task.CompletedTask;
        _requests?.Refund(1);
        _tokens?.Refund(tokens);
        return ReleaseHoldAsync(reservationId, amountNanos, epoch, meters);
    }

    public async Task<ScopeCommitted> CommitAsync(string reservationId, long heldNanos, bool closesHold, long actualNanos,
        IReadOnlyList<MeterQuantity> heldMeters, IReadOnlyList<MeterQuantity> actualMeters)
    {
        await RollPeriodIfDueAsync();
        _openReservations.Remove(reservationId);
        if (closesHold)
        {
            _heldNanos -= heldNanos;
            _openHolds--;
            if (heldMeters.Count > 0) MeterCounts.Add(heldMeters, -1);
        }
        var before = _spentNanos;
        _spentNanos = checked(_spentNanos + actualNanos);
        _commits++;
        if (actualMeters.Count > 0) MeterCounts.Add(actualMeters, +1, used: true);
        KeepAliveWhileHolding();
        return new ScopeCommitted(State.PeriodStartUnixMs, _watch.OnCommit(SpendChange(before)), _epoch);
    }

    public Task UndoCommitAsync(string reservationId, long heldNanos, bool closesHold, long actualNanos, long periodStartUnixMs, long epoch,
        IReadOnlyList<MeterQuantity> heldMeters, IReadOnlyList<MeterQuantity> actualMeters)
    {
        if (epoch != _epoch) return Task.CompletedTask;
        _watch.OnCommitUndone(actualNanos, NowUnixMs());
        if (closesHold)
        {
            _heldNanos += heldNanos;
            _openHolds++;
            if (heldMeters.Count > 0) MeterCounts.Add(heldMeters, +1);
            if (IsTask) _openReservations.Add(reservationId);
        }
        // A period that closed since counted the spend only in its history, which the failed write never reached.
        if (periodStartUnixMs == State.PeriodStartUnixMs)
        {
            _spentNanos -= actualNanos;
            _commits--;
            if (actualMeters.Count > 0) MeterCounts.Add(actualMeters, -1, used: true);
        }
        KeepAliveWhileHolding();
        return Task.CompletedTask;
    }

    public Task UndoDenialAsync(long periodStartUnixMs)
    {
        if (periodStartUnixMs == State.PeriodStartUnixMs) _denials--;
        return Task.CompletedTask;
    }

    public async Task<ScopeAnswer> AdmitTaskCallAsync(TaskCall call)
    {
        await RollPeriodIfDueAsync();
        var answer = EvaluateTaskCall(call) with { PeriodStartUnixMs = State.PeriodStartUnixMs };
        if (!answer.Admitted)
        {
            _denials++;
            return answer;
        }
        var first = _calls == 0;
        _calls++;
        if (call.IsRetry) _retries++;
        _depthMaxSeen = Math.Max(_depthMaxSeen, call.Depth);
        _openReservations.Add(call.ReservationId);
        return answer with { Epoch = _epoch, FirstTaskCall = first };
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        activations.Remove(GrainKey, _epoch);
        return Task.CompletedTask;
    }

    public Task FencedOutAsync(long epoch)
    {
        if (epoch == _epoch) FenceOut();
        return Task.CompletedTask;
    }

    /// <summary>Another activation holds the scope now: this one answers nothing more from its counters and goes.</summary>
    private void FenceOut()
    {
        _fencedOut = true;
        DeactivateOnIdle();
    }

    public async Task<ScopeAnswer> CheckTaskCallAsync(TaskCall call)
    {
        await RollPeriodIfDueAsync();
        return EvaluateTaskCall(call);
    }

    public Task UndoTaskCallAsync(TaskCall call, long periodStartUnixMs)
    {
        _openReservations.Remove(call.ReservationId);
        if (periodStartUnixMs != State.PeriodStartUnixMs) return Task.CompletedTask;
        // The deepest depth seen is not undone: it is an observation, not a limit being consumed.
        _calls--;
        if (call.IsRetry) _retries--;
        return Task.CompletedTask;
    }

    public Task<long> TrackOpenHoldAsync(string reservationId)
    {
        if (IsTask) _openReservations.Add(reservationId);
        return Task.FromResult(_epoch);
    }

    public async Task<TaskPolicy> SetTaskPolicyAsync(TaskPolicy policy)
    {
        var previous = State.TaskPolicy;
        State.TaskPolicy = policy.IsEmpty ? null : policy;
        try
        {
            await WriteStateAsync([]);
        }
        catch (StorageUnavailableException)
        {
            State.TaskPolicy = previous;
            throw;
        }
        return policy;
    }

    public Task<TaskPolicy> GetTaskPolicyAsync() => Task.FromResult(State.TaskPolicy ?? TaskPolicy.None);

    public async Task<TaskEnd> EndTaskAsync(string outcome)
    {
        if (State.Ended)
        {
            // Ended before outcomes were recorded: it ended without one.
            var recorded = State.Task?.Outcome is { Length: > 0 } known ? known : TaskKinds.Ended;
            return new TaskEnd([.. _openReservations], recorded, Conflict: outcome.Length > 0 && outcome != recorded);
        }
        if (outcome.Length == 0) outcome = TaskKinds.Ended;
        var next = Copy(State);
        next.Ended = true;
        next.Task = (State.Task ?? new TaskFacts()) with { Outcome = outcome };
        await ReplaceStateAsync(next, [new TaskEnded(GrainKey, ScopeIds.TenantOfTask(GrainKey), outcome, NowUnixMs())]);
        return new TaskEnd([.. _openReservations], outcome);
    }

    public async Task<string?> StartJobAsync(JobStart start)
    {
        await RollPeriodIfDueAsync();
        if (State.Ended) return $"{GrainKey} has ended; a job cannot start again under the same id";
        if (State.Task is { IsJob: true } job)
            return job.JobEstimateNanos == start.EstimateNanos && job.JobCapNanos == start.CapNanos ? null
                : $"job {GrainKey} was started with estimate_nanos {job.JobEstimateNanos} and cap_nanos {job.JobCapNanos}; " +
                  "change its cap with UpsertBudget";
        var facts = (State.Task ?? new TaskFacts()) with { IsJob = true, JobEstimateNanos = start.EstimateNanos, JobCapNanos = start.CapNanos };
        IJournalRecord started = new JobStarted(GrainKey, start.Tenant, start.Feature, start.Agent, start.EstimateNanos, start.CapNanos, NowUnixMs());
        if (start.CapNanos > 0)
        {
            // The cap is the budget's limit, so admission stops the job like any budget, and its thresholds alert on the way.
            var settings = (State.HasBudget ? Settings() : defaults.BaseFor(GrainKey)) with { LimitNanos = start.CapNanos };
            await ApplyBudgetAsync(settings, fromDefault: false, facts, started);
            return null;
        }
        var next = Copy(State);
        next.Task = facts;
        await ReplaceStateAsync(next, [started]);
        return null;
    }

    public async Task<BudgetStatus> GetStatusAsync()
    {
        await RollPeriodIfDueAsync();
        return Status();
    }

    public async Task<BudgetStatus> SetBudgetAsync(BudgetUpdate update)
    {
        await RollPeriodIfDueAsync();
        var current = State.HasBudget ? Settings() : defaults.BaseFor(GrainKey);
        return await ApplyBudgetAsync(update.ApplyTo(current), fromDefault: false);
    }

    public async Task<UnknownScopesMode> SetUnknownScopesAsync(UnknownScopesMode mode)
    {
        if (State.UnknownScopes == mode) return mode;
        var next = Copy(State);
        (next.UnknownScopes, next.UpdatedAtUnixMs) = (mode, NowUnixMs());
        await ReplaceStateAsync(next, []);
        return mode;
    }

    public Task<UnknownScopesMode> GetUnknownScopesAsync() => Task.FromResult(State.UnknownScopes);

    /// <summary>The settings of the scope's budget as stored.</summary>
    private BudgetSettings Settings() => new(GrainKey, State.LimitNanos, State.Period, State.ThresholdPercents, State.Parent, State.Frozen,
        State.Currency, State.RequestsPerMinute, State.TokensPerMinute, State.MeterLimits);

    /// <summary>
    /// A scope nobody configured gets its kind's default budget on first use (a reserve), stored like any budget so that
    /// its period rolls and it is listed; a default budget follows the configuration (a changed or removed default
    /// applies at the next reserve) until someone sets the scope's budget. Its kill switch is kept.
    /// </summary>
    private async Task FollowDefaultBudgetAsync()
    {
        if (State.HasBudget && !State.DefaultBudget) return;
        var wanted = defaults.DefaultFor(GrainKey);
        if (wanted is null)
        {
            if (State.DefaultBudget && !State.Frozen) await DeleteBudgetAsync();
            return;
        }
        if (State.DefaultBudget)
        {
            wanted = wanted with { Frozen = State.Frozen };
            var current = Settings();
            if (current with { ThresholdPercents = wanted.ThresholdPercents } == wanted && current.ThresholdPercents.SequenceEqual(wanted.ThresholdPercents))
                return;
        }
        await ApplyBudgetAsync(wanted, fromDefault: true);
    }

    /// <summary>The state a default budget not applied yet would give (for a check); null when there is none to apply.</summary>
    private ScopeState? PendingDefault()
    {
        if (State.HasBudget || defaults.DefaultFor(GrainKey) is not { } d) return null;
        var pending = Copy(State);
        (pending.HasBudget, pending.DefaultBudget, pending.LimitNanos, pending.Period, pending.ThresholdPercents, pending.Currency,
            pending.RequestsPerMinute, pending.TokensPerMinute) =
            (true, true, d.LimitNanos, d.Period, [.. d.ThresholdPercents], d.Currency, d.RequestsPerMinute, d.TokensPerMinute);
        // The period it would get (as ApplyBudgetAsync gives it), so a status reads "this month" rather than since 1970.
        var now = NowUnixMs();
        if (!PeriodHasActivity) pending.PeriodStartUnixMs = PeriodCalendar.StartOf(d.Period, now);
        pending.PeriodEndUnixMs = PeriodCalendar.EndOf(d.Period, now);
        return pending;
    }

    /// <param name="task">StartJob: the task facts the new state gets, written with <paramref name="extra"/>.</param>
    private async Task<BudgetStatus> ApplyBudgetAsync(BudgetSettings settings, bool fromDefault, TaskFacts? task = null, IJournalRecord? extra = null)
    {
        var now = NowUnixMs();
        var previous = State;
        // A new period applies at once but never resets spend counted in the current one: the current period keeps its
        // start and now ends at the new period's next boundary. Only a current period with nothing counted in it is
        // re-keyed to the calendar start, so that it reads as "this month" rather than as the scope's whole past (its
        // counters are all zero then, so nothing in memory changes with the key).
        var start = settings.Period == previous.Period || PeriodHasActivity ? previous.PeriodStartUnixMs
            : PeriodCalendar.StartOf(settings.Period, now);
        var next = new ScopeState
        {
            HasBudget = true,
            LimitNanos = settings.LimitNanos,
            Period = settings.Period,
            ThresholdPercents = [.. settings.ThresholdPercents],
            Parent = settings.Parent,
            Frozen = settings.Frozen,
            Currency = settings.Currency,
            UpdatedAtUnixMs = now,
            TaskPolicy = previous.TaskPolicy,
            Ended = previous.Ended,
            RequestsPerMinute = settings.RequestsPerMinute,
            TokensPerMinute = settings.TokensPerMinute,
            PeriodStartUnixMs = start,
            PeriodEndUnixMs = settings.Period == previous.Period && start == previous.PeriodStartUnixMs
                ? previous.PeriodEndUnixMs : PeriodCalendar.EndOf(settings.Period, now),
            DefaultBudget = fromDefault,
            UnknownScopes = previous.UnknownScopes,
            Task = task ?? previous.Task,
            MeterLimits = settings.MeterLimits is { Count: > 0 } limits ? [.. limits] : null,
        };
        // A lower limit or new thresholds may put spend already counted past a mark: those alerts fire now.
        var reached = SpendWatch.Reached(new SpendChange(GrainKey, next.Period, next.PeriodStartUnixMs, next.PeriodEndUnixMs,
            next.LimitNanos, next.ThresholdPercents, next.Currency, _spentNanos, _spentNanos, now));
        var journal = reached?.Select(a => (IJournalRecord)new AlertRaised(a)).ToList() ?? [];
        if (extra is not null) journal.Add(extra);
        await ReplaceStateAsync(next, journal);
        if (reached is not null) alertSignal.Persisted();
        ArmPeriodTimer();
        return Status();
    }

    public async Task<bool> DeleteBudgetAsync()
    {
        await RollPeriodIfDueAsync();
        if (!State.HasBudget) return false;
        // Spend is still tracked on a scope without a budget: the counters and the period key stay.
        await ReplaceStateAsync(new ScopeState
        {
            UpdatedAtUnixMs = NowUnixMs(),
            TaskPolicy = State.TaskPolicy,
            Ended = State.Ended,
            PeriodStartUnixMs = State.PeriodStartUnixMs,
            UnknownScopes = State.UnknownScopes,
            Task = State.Task,
        }, []);
        ArmPeriodTimer();
        return true;
    }

    public async Task<BudgetStatus> SetFrozenAsync(bool frozen)
    {
        await RollPeriodIfDueAsync();
        // Freezing a scope without a budget gives it one: no limit, frozen.
        // A scope of a kind with a default budget gets that one (its period included), frozen.
        if (!State.HasBudget && defaults.DefaultFor(GrainKey) is { } byDefault) return await ApplyBudgetAsync(byDefault with { Frozen = frozen }, fromDefault: true);
        var next = Copy(State);
        (next.HasBudget, next.Frozen, next.UpdatedAtUnixMs) = (true, frozen, NowUnixMs());
        if (!State.HasBudget) next.ThresholdPercents = [.. BudgetAdministration.DefaultThresholdPercents];
        await ReplaceStateAsync(next, []);
        return Status();
    }

    public async Task<BudgetStatus> ResetPeriodAsync()
    {
        await RollPeriodIfDueAsync();
        var now = NowUnixMs();
        // The next period starts now (strictly after the closed one's start, so two resets in one millisecond still make
        // two periods) and ends at the calendar boundary the closed one would have ended at.
        await ClosePeriodAsync(closedAtUnixMs: now, nextStart: Math.Max(now, State.PeriodStartUnixMs + 1), nextEnd: State.PeriodEndUnixMs, reset: true);
        return Status();
    }

    private bool IsTask => GrainKey.StartsWith(ScopeIds.Task + "/", StringComparison.Ordinal);

    private long NowUnixMs() => clock.GetUtcNow().ToUnixTimeMilliseconds();

    private bool PeriodHasActivity => _spentNanos != 0 || _commits != 0 || _denials != 0 || _calls != 0;

    private SpendChange SpendChange(long spentBeforeNanos) => new(GrainKey, State.Period, State.PeriodStartUnixMs, State.PeriodEndUnixMs,
        State.LimitNanos, State.ThresholdPercents, State.Currency, spentBeforeNanos, _spentNanos, NowUnixMs()) { HasBudget = State.HasBudget };

    /// <summary>At a calendar boundary the current period closes into history and the next one starts empty (open holds
    /// carry over). Checked at the start of every turn that reads counters, and by a timer while the scope is active; a
    /// scope activated after a boundary (or after a restart) rolls on its first turn, to the same calendar period.</summary>
    private Task RollPeriodIfDueAsync()
    {
        var now = NowUnixMs();
        if (State.PeriodEndUnixMs == 0 || now < State.PeriodEndUnixMs) return Task.CompletedTask;
        return ClosePeriodAsync(State.PeriodEndUnixMs, PeriodCalendar.StartOf(State.Period, now), PeriodCalendar.EndOf(State.Period, now), reset: false);
    }

    /// <summary>Durably closes the current period (history) and starts the next; memory changes only once it is durable.</summary>
    private async Task ClosePeriodAsync(long closedAtUnixMs, long nextStart, long nextEnd, bool reset)
    {
        var closed = new PeriodClosed(GrainKey, State.Period, State.PeriodStartUnixMs, closedAtUnixMs, State.LimitNanos, State.Currency, reset);
        var next = Copy(State);
        (next.PeriodStartUnixMs, next.PeriodEndUnixMs) = (nextStart, nextEnd);
        await ReplaceStateAsync(next, [closed]);
        ZeroPeriodCounters();
        ArmPeriodTimer();
    }

    private void ZeroPeriodCounters()
    {
        (_spentNanos, _commits, _denials, _calls, _retries, _depthMaxSeen) = (0, 0, 0, 0, 0, 0);
        _meters?.ZeroUsed();
    }

    /// <summary>Makes <paramref name="next"/> the state, durably with <paramref name="journal"/>; on failure the state is unchanged.</summary>
    private async Task ReplaceStateAsync(ScopeState next, IReadOnlyList<IJournalRecord> journal)
    {
        var previous = State;
        State = next;
        try
        {
            await WriteStateAsync(journal);
        }
        catch (StorageUnavailableException)
        {
            State = previous;
            throw;
        }
    }

    /// <summary>The scope's own writes carry its epoch; refused (another silo holds the scope now), the activation goes.</summary>
    private async Task WriteStateAsync(IReadOnlyList<IJournalRecord> journal)
    {
        try
        {
            await _state.WriteAsync(journal, _fence);
        }
        catch (StorageUnavailableException e) when (e.Fenced)
        {
            FenceOut();
            throw;
        }
    }

    private static ScopeState Copy(ScopeState s) => new()
    {
        HasBudget = s.HasBudget, LimitNanos = s.LimitNanos, Period = s.Period, ThresholdPercents = s.ThresholdPercents,
        Parent = s.Parent, Frozen = s.Frozen, Currency = s.Currency, RequestsPerMinute = s.RequestsPerMinute,
        TokensPerMinute = s.TokensPerMinute, UpdatedAtUnixMs = s.UpdatedAtUnixMs, TaskPolicy = s.TaskPolicy, Ended = s.Ended,
        PeriodStartUnixMs = s.PeriodStartUnixMs, PeriodEndUnixMs = s.PeriodEndUnixMs, DefaultBudget = s.DefaultBudget,
        UnknownScopes = s.UnknownScopes, Task = s.Task, MeterLimits = s.MeterLimits,
    };

    /// <summary>While active, a scope rolls at its boundary even when nobody calls it (history and alerts on time).</summary>
    private void ArmPeriodTimer()
    {
        _periodTimer?.Dispose();
        _periodTimer = null;
        if (State.PeriodEndUnixMs == 0) return;
        var due = TimeSpan.FromMilliseconds(Math.Max(0, State.PeriodEndUnixMs - NowUnixMs()));
        _periodTimer = this.RegisterGrainTimer(_ => RollPeriodIfDueAsync(),
            new GrainTimerCreationOptions(due < LongestPeriodTimer ? due : LongestPeriodTimer, LongestPeriodTimer));
    }

    /// <summary>
    /// Release and expiry make their change durable before they tell the scope; a scope loaded from the store in between
    /// would count the release twice, so a scope with open holds is never collected for idleness (Orleans' collection
    /// age applies again once the last hold is gone).
    /// </summary>
    private void KeepAliveWhileHolding()
    {
        if (_openHolds > 0 == _keptAlive) return;
        _keptAlive = _openHolds > 0;
        DelayDeactivation(_keptAlive ? TimeSpan.MaxValue : TimeSpan.Zero);
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
    /// The admission rule of DESIGN.md §4 for this scope: the budget's (<see cref="BudgetFigures.Evaluate"/>), then the
    /// rate limits. A scope that denies for its budget does not consume rate: only requests it would admit count.
    /// </summary>
    private ScopeAnswer Evaluate(long amountNanos, long tokens)
    {
        var figures = Figures();
        return figures.WithBudgetFacts(WithRates(figures.Evaluate(amountNanos), tokens));
    }

    private BudgetFigures Figures() => new(GrainKey, State.HasBudget, State.LimitNanos, _spentNanos, _heldNanos, _openHolds, State.Frozen,
        State.Parent, State.ThresholdPercents, State.TaskPolicy, State.UnknownScopes);

    private ScopeAnswer WithRates(ScopeAnswer answer, long tokens)
    {
        if (!answer.Admitted || (State.RequestsPerMinute == 0 && State.TokensPerMinute == 0)) return answer;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
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

    /// <summary>
    /// Every call ends by publishing what a check of this scope reads (<see cref="ScopeView"/>), or withdrawing it where a
    /// check needs the grain. After the call, not at each change: the call is one turn (the grain is not reentrant), so a
    /// check reads the figures between two calls, as a check sent to the grain would be answered.
    /// </summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        finally
        {
            PublishView();
        }
    }

    private void PublishView()
    {
        // Meter limits depend on quantities the figures do not carry.
        var answersFromFigures = !_fencedOut && !IsTask && State.RequestsPerMinute == 0 && State.TokensPerMinute == 0
            && !State.HasMeterLimits && (State.HasBudget || !_kindHasDefault);
        if (answersFromFigures) activations.Publish(GrainKey, new ScopeView(Figures(), _epoch, State.PeriodEndUnixMs));
        else activations.Withdraw(GrainKey, _epoch);
    }

    private BudgetStatus Status() => PendingDefault() is { } pending ? StatusOf(pending) : StatusOf(State);

    private BudgetStatus StatusOf(ScopeState state) => new(
        GrainKey, state.HasBudget, state.LimitNanos, _spentNanos, _heldNanos, _openHolds, state.Period,
        state.PeriodStartUnixMs, state.PeriodEndUnixMs, state.Parent, state.Frozen, state.ThresholdPercents, state.Currency, _denials, _commits,
        _calls, _retries, _depthMaxSeen, state.Ended, state.RequestsPerMinute, state.TokensPerMinute, state.DefaultBudget,
        state.MeterLimits is { } limits ? [.. limits.Select(l => new MeterLimitStatus(l.Meter, l.MaxQuantity, _meters?.Used(l.Meter) ?? 0, _meters?.Held(l.Meter) ?? 0))] : null);

    private ScopeMeterCounts MeterCounts => _meters ??= new ScopeMeterCounts();

    /// <summary>The used (this period) and held quantity of every meter the scope counted, as the store has them.</summary>
    private async Task LoadMeterCountsAsync(CancellationToken cancellationToken)
    {
        var rows = await meterStore.ReadScopeMeterCountsAsync(GrainKey, State.PeriodStartUnixMs, cancellationToken);
        if (rows.Count == 0) return;
        var counts = MeterCounts;
        foreach (var row in rows) counts.Load(row.Meter, row.UsedQuantity, row.HeldQuantity);
    }

    /// <summary><see cref="Evaluate"/>, then, for a call that names meters and was admitted so far, <see cref="EvaluateMeters"/>.</summary>
    private ScopeAnswer EvaluateWithMeters(long amountNanos, long tokens, IReadOnlyList<MeterQuantity> meters)
    {
        var answer = Evaluate(amountNanos, tokens);
        return meters.Count > 0 && answer.Admitted ? EvaluateMeters(answer, meters) : answer;
    }

    /// <summary>
    /// The meter limits of docs/decisions/0041, after the money admitted <paramref name="admitted"/>: for each meter the
    /// call names that this scope limits, used + held + estimate &lt;= max. The first that does not fit denies, naming
    /// the meter and what is left of it.
    /// </summary>
    private ScopeAnswer EvaluateMeters(ScopeAnswer admitted, IReadOnlyList<MeterQuantity> meters)
    {
        if (State.MeterLimits is not { Length: > 0 } limits) return admitted;
        foreach (var limit in limits)
        {
            var estimate = 0L;
            var named = false;
            foreach (var m in meters)
                if (m.Meter == limit.Meter) (estimate, named) = (m.Quantity, true);
            if (!named) continue;
            // Int128: a commit above its estimate may have put used past the limit.
            Int128 taken = (Int128)(_meters?.Used(limit.Meter) ?? 0) + (_meters?.Held(limit.Meter) ?? 0);
            if (taken + estimate <= limit.MaxQuantity) continue;
            return admitted with
            {
                // As a money deny: what remains before the call.
                Admitted = false, Reason = DenyReason.MeterLimit, RemainingNanos = Figures().RemainingNanos(), CrossedThresholds = NoThresholds, DeniedMeter = limit.Meter,
                RemainingMeterQuantity = (long)Int128.Max(0, limit.MaxQuantity - taken),
            };
        }
        return admitted;
    }
}
