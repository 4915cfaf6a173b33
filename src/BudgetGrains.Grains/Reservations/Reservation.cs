using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Estimates;
using BudgetGrains.Grains.Meters;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Telemetry;
using BudgetGrains.Grains.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace BudgetGrains.Grains.Reservations;

/// <summary>
/// One reservation, keyed by the client's request id, kept in memory by its shard (<see cref="ReservationShardGrain"/>)
/// while its hold is open. The shard runs one call of a reservation at a time, so duplicates, even concurrent ones,
/// have one effect. Order of effects, chosen so the in-memory counters are never below the durable truth (I1 holds in
/// memory and after a crash): reserve and commit change the scopes first, then write, and undo the scopes if the write
/// fails; release and expiry write first, then change the scopes.
/// </summary>
internal sealed class Reservation(string id, ReservationServices services, IReservationSchedule schedule)
{
    /// <summary>When an expiry could not be written, try again after this long.</summary>
    private static readonly TimeSpan ExpiryRetryDelay = TimeSpan.FromSeconds(5);

    private static readonly string[] None = [];

    private readonly DurableState<ReservationState> _state = new(services.Journal, new StateKey(GrainTypes.Reservation, id),
        state => ReservationStateCodec.Encode(id, state), data => ReservationStateCodec.Decode(id, data));

    /// <summary>The state came with the hold index's entry (<see cref="Wake"/>): loading reads nothing.</summary>
    private bool _stateGiven;

    /// <summary>While the hold is open: the epoch of the activation holding on each scope of the chain (in chain order).
    /// The release is written fenced with them, so that it reaches exactly the activations that count the hold (0052).</summary>
    private long[] _holdEpochs = [];

    /// <summary>A release refused because a scope reloaded meanwhile is written again with the new epochs, this often.</summary>
    private const int CloseAttempts = 3;

    // The shard's services are read through `services`, not copied into fields: a reservation lives in memory for as
    // long as its hold is open, and a million of them are a million copies.

    /// <summary>The request id, which is also the reservation id.</summary>
    private string GrainKey => id;

    /// <summary>Read from the store (once, before the first call).</summary>
    public bool Loaded { get; private set; }

    /// <summary>The store refused a write for a stale scope epoch: the shard forgets this copy, and the retry with the
    /// same id reloads the reservation from the store.</summary>
    public bool FencedOut { get; private set; }

    /// <summary>Holding on its chain; the shard keeps it in memory until it settles.</summary>
    public bool Open => State.Status == ReservationStatus.Admitted;

    private ReservationState State
    {
        get => _state.Value;
        set => _state.Value = value;
    }

    /// <summary>An open hold the shard found in the store's hold index when it activated, with its state if the index keeps
    /// it: it stays in the shard's memory until loaded (its state is nowhere else), and loads without reading the store.</summary>
    public bool Waking { get; private set; }

    /// <summary>Marks this reservation as an open hold of the store's hold index; <paramref name="state"/> is its stored
    /// state when the index keeps it (else the state is read under the reservation's key, as for any other).</summary>
    public void Wake(byte[]? state)
    {
        Waking = true;
        if (state is not null)
        {
            State = ReservationStateCodec.Decode(id, state);
            _stateGiven = true;
        }
    }

    /// <summary>Reads the stored state; an open hold is tracked again by its scopes and its expiry scheduled.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (!_stateGiven) await _state.ReadAsync(cancellationToken);
        if (State.Status == ReservationStatus.Admitted)
        {
            // Release and expiry write before they tell the scopes, so the scopes must be loaded first, and the release
            // is fenced with the epochs of those activations. (Scopes with open holds then stay active; see ScopeGrain.)
            // Until this succeeds the reservation is not loaded, and the next call tries again.
            await TrackHoldAsync();
        }
        (Loaded, Waking) = (true, false);
        if (State.Status == ReservationStatus.Admitted) ArmExpiry();
    }

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
        // An unknown meter is refused, not stored as a deny: the same id is admitted once the meter is in the catalog.
        var metered = services.Meters.Price(command.MeterEstimate);
        if (metered.Unknown.Length > 0) return metered.UnknownFailure;
        if (command.EstimateUsage is { } usage)
        {
            if (!services.Prices.TryPrice(usage, out amount))
                return await FinishDeniedAsync(fingerprint, Denied(DenyReason.UnknownPrice, "", Remaining.Unlimited), denial: null);
            if (amount > Limits.MaxCallAmountNanos) return PricedTooHigh(amount);
            source = EstimateSource.PricedUsage;
        }
        else if (amount == 0 && command.MeterEstimate.Count > 0)
        {
            source = EstimateSource.PricedUsage;
        }
        else if (amount == 0)
        {
            if (await services.Grains.Estimate(estimateKey).P95Async() is not { } learned)
                return Failure.Precondition($"no estimate given, and feature '{a.Feature}' (model label '{a.LabelMap.GetValueOrDefault("model", "")}') " +
                    $"has fewer than {Limits.MinLearnedSamples} commits to learn one from: give estimate_nanos or estimate_usage");
            (amount, source) = (learned, EstimateSource.Learned);
        }

        amount += metered.TotalNanos;
        if (amount > Limits.MaxCallAmountNanos) return PricedTooHigh(amount);

        var tokens = command.EstimateUsage?.Total ?? 0;
        var meters = command.MeterEstimate;
        var walk = await AdmissionChain.WalkAsync(services.Grains, command.Attribution, scope => scope.TryHoldAsync(amount, tokens, meters));
        if (walk.Failure is not null || walk.DeniedAt is not null)
        {
            await UndoHoldsAsync(walk.PassedFences, amount, tokens, meters);
            if (walk.Failure is not null) return walk.Failure;
            var at = walk.DeniedAt!;
            var denied = Denied(at.Reason, walk.DeniedScope, at.RemainingNanos) with
                { RetryAfterMs = at.RetryAfterMs, DeniedMeter = at.DeniedMeter, RemainingMeterQuantity = at.RemainingMeterQuantity };
            return await FinishDeniedAsync(fingerprint, denied, new ScopeCounterDelta(walk.DeniedScope, at.PeriodStartUnixMs, Denials: 1));
        }
        if (walk.DeniedForNoBudget(services.ScopeDefaults) is { } unbudgeted)
        {
            // No scope denied, so none counts a denial: the chain as a whole has no budget.
            await UndoHoldsAsync(walk.PassedFences, amount, tokens, meters);
            return await FinishDeniedAsync(fingerprint, Denied(DenyReason.NoBudget, unbudgeted, 0), denial: null);
        }

        var (taskScope, taskCall, taskPeriod, firstTaskCall) = (command.Attribution.TaskScope, (TaskCall?)null, 0L, false);
        var fences = new List<ScopeFence>(walk.PassedFences);
        var inherited = walk.InheritedTaskPolicy(command.Attribution);
        if (taskScope.Length > 0)
        {
            taskCall = new TaskCall(GrainKey, command.Task.Depth, command.Task.IsRetry, inherited, amount, AlreadyHeld: true);
            ScopeAnswer verdict;
            try
            {
                verdict = await services.Grains.Scope(taskScope).AdmitTaskCallAsync(taskCall);
            }
            catch (LimitExceededException e)
            {
                await UndoHoldsAsync(walk.PassedFences, amount, tokens, meters);
                return Failure.Exhausted(e.Message);
            }
            if (!verdict.Admitted)
            {
                await UndoHoldsAsync(walk.PassedFences, amount, tokens, meters);
                return await FinishDeniedAsync(fingerprint, Denied(verdict.Reason, taskScope, verdict.RemainingNanos),
                    new ScopeCounterDelta(taskScope, verdict.PeriodStartUnixMs, Denials: 1));
            }
            (taskPeriod, firstTaskCall) = (verdict.PeriodStartUnixMs, verdict.FirstTaskCall);
            if (!fences.Exists(f => f.Scope == taskScope)) fences.Add(new ScopeFence(taskScope, verdict.Epoch));
        }

        var now = NowUnixMs();
        var expiresAt = now + walk.EffectivePolicy(command.Attribution, inherited).EffectiveHoldTtlMs(command.HoldTtlMs);
        var answer = new ReserveAnswer(true, GrainKey, DenyReason.None, "", walk.RemainingNanos, expiresAt,
            walk.CrossedThresholds.Count == 0 ? None : walk.CrossedThresholds.ToArray(), amount, EstimateSource: source);
        var journal = new List<IJournalRecord>(walk.Passed.Count + 1);
        foreach (var scope in walk.Passed)
            journal.Add(scope == taskScope
                ? new ScopeCounterDelta(scope, taskPeriod, HeldNanos: amount, OpenHolds: 1, Calls: 1, Retries: command.Task.IsRetry ? 1 : 0, DepthMaxSeen: command.Task.Depth)
                : new ScopeCounterDelta(scope, HeldNanos: amount, OpenHolds: 1));
        if (firstTaskCall) journal.Add(new TaskStarted(taskScope, a.Tenant, a.Feature, a.Agent, now));
        if (meters.Count > 0) journal.Add(new MeterHoldDelta(walk.Passed, meters, +1));
        var admitted = new ReservationState
        {
            Status = ReservationStatus.Admitted,
            Fingerprint = fingerprint,
            Answer = answer,
            Chain = [.. walk.Passed],
            ChainParents = [.. walk.Parents],
            HeldNanos = amount,
            HeldMeters = meters.Count == 0 ? [] : [.. meters],
            ReservedAtUnixMs = now,
            ExpiresAtUnixMs = expiresAt,
            Labels = new Dictionary<string, string>(command.Attribution.LabelMap),
            EstimateKey = estimateKey,
        };
        // Where the store keeps an open hold's state in its hold index, the reserve writes no row keyed by the request id.
        var holdState = services.Journal.KeepsOpenHoldStates ? ReservationStateCodec.Encode(id, admitted) : null;
        journal.Add(new HoldOpened(GrainKey, expiresAt, holdState));
        if (await PersistAsync(admitted, journal, fences, storeState: holdState is null) is { } failure)
        {
            if (taskCall is not null) await services.Grains.Scope(taskScope).UndoTaskCallAsync(taskCall, taskPeriod);
            await UndoHoldsAsync(walk.PassedFences, amount, tokens, meters);
            await FencedOutAsync(fences);
            return failure;
        }
        _holdEpochs = [.. walk.PassedFences.Select(f => f.Epoch)];
        ArmExpiry();
        BudgetMeters.HoldOpened();
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
        if (command.Usage is { } usage && !services.Prices.TryPrice(usage, out actual))
            return Failure.Precondition($"no price for model '{usage.Model}'; send actual_nanos instead");
        var metered = services.Meters.Price(command.MeterActual);
        if (metered.Unknown.Length > 0) return metered.UnknownFailure;
        // Priced tokens may come close to long.MaxValue (refused below either way): only add to an amount a call may cost.
        if (actual <= Limits.MaxCallAmountNanos) actual += metered.TotalNanos;
        if (actual > Limits.MaxCallAmountNanos) return PricedTooHigh(actual);

        var now = NowUnixMs();
        var closesHold = State.Status == ReservationStatus.Admitted;
        var held = State.HeldNanos;
        var answer = new CommitAnswer(actual, Late: !closesHold || now > State.ExpiresAtUnixMs, Overage: actual > held);
        var id = GrainKey;
        var chain = State.Chain;
        // The hold's meter estimates leave with the hold; the actual quantities are used from now on.
        IReadOnlyList<MeterQuantity> heldMeters = closesHold ? State.HeldMeters : [], usedMeters = command.MeterActual;
        var calls = new Task<ScopeCommitted>[chain.Length];
        for (var i = 0; i < chain.Length; i++) calls[i] = services.Grains.Scope(chain[i]).CommitAsync(id, held, closesHold, actual, heldMeters, usedMeters);
        if (await AwaitChainAsync(calls) is { } unreachable)
        {
            for (var i = 0; i < chain.Length; i++)
                if (calls[i].IsCompletedSuccessfully)
                    await Scope(i).UndoCommitAsync(id, held, closesHold, actual, calls[i].Result.PeriodStartUnixMs, calls[i].Result.Epoch, heldMeters, usedMeters);
            return unreachable;
        }

        var periods = calls.Select(c => c.Result.PeriodStartUnixMs).ToArray();
        var journal = new List<IJournalRecord>(chain.Length * 8 + 2);
        var tokens = command.Usage ?? TokenCounts.None;
        for (var i = 0; i < chain.Length; i++)
        {
            journal.Add(new ScopeCounterDelta(chain[i], periods[i], SpentNanos: actual, HeldNanos: closesHold ? -held : 0, OpenHolds: closesHold ? -1 : 0, Commits: 1,
                InputTokens: tokens.InputTokens, CachedInputTokens: tokens.CachedInputTokens, OutputTokens: tokens.OutputTokens, ReasoningTokens: tokens.ReasoningTokens));
            AddUsage(journal, i, periods[i], actual, tokens, command);
            foreach (var alert in calls[i].Result.Alerts ?? []) journal.Add(new AlertRaised(alert));
        }
        journal.Add(new LedgerEntry(GrainKey, chain, periods, State.Labels, held, actual, command.Usage?.Model ?? "",
            tokens.InputTokens, tokens.CachedInputTokens, tokens.OutputTokens, tokens.ReasoningTokens,
            command.Outcome, answer.Late, answer.Overage, State.ReservedAtUnixMs, now));
        if (metered.Charges.Count > 0) journal.Add(new MeterDelta(GrainKey, chain, periods, metered.Charges, now));
        if (heldMeters.Count > 0) journal.Add(new MeterHoldDelta(chain, heldMeters, -1));
        if (closesHold) journal.Add(new HoldClosed(GrainKey, State.ExpiresAtUnixMs));
        // A task's scope leads its chain: the task table sums what its calls reserved (a job's interval estimates).
        if (chain.Length > 0 && ScopeIds.IsTask(chain[0])) journal.Add(new TaskCommitted(chain[0], held));
        var committed = State with { Status = ReservationStatus.Committed, CommitFingerprint = Fingerprints.Of(command), CommitAnswer = answer };
        var commitFences = new ScopeFence[chain.Length];
        for (var i = 0; i < chain.Length; i++) commitFences[i] = new ScopeFence(chain[i], calls[i].Result.Epoch);
        if (await PersistAsync(committed, journal, commitFences) is { } failure)
        {
            for (var i = 0; i < chain.Length; i++) await Scope(i).UndoCommitAsync(id, held, closesHold, actual, periods[i], commitFences[i].Epoch, heldMeters, usedMeters);
            await FencedOutAsync(commitFences);
            // Settled by another copy of this reservation: the stored outcome answers (a repeated commit gets its answer).
            if (FencedOut && await SettledInStoreAsync()) return await CommitAsync(command);
            return failure;
        }
        BudgetMeters.Committed(chain, actual);
        if (closesHold) BudgetMeters.HoldClosed();
        if (calls.Any(c => c.Result.Alerts is not null)) services.AlertSignal.Persisted();
        if (State.EstimateKey.Length > 0) LearnFrom(actual);
        Finish();
        return answer;

        IScopeGrain Scope(int i) => services.Grains.Scope(chain[i]);
    }

    /// <summary>The usage rows a commit counts under, for the chain's <paramref name="index"/>th scope: each child scope it
    /// came through (a chain member whose parent is this scope), its model, outcome and a few labels. A grouping the call
    /// has no value for gets no row: the store reports what no row covers as "" (total minus the grouping's rows).</summary>
    private void AddUsage(List<IJournalRecord> journal, int index, long period, long actual, TokenCounts tokens, CommitCommand command)
    {
        var scope = State.Chain[index];
        for (var i = 0; i < State.ChainParents.Length; i++)
            if (State.ChainParents[i] == scope) Add(UsageDimensions.Child, State.Chain[i]);
        Add(UsageDimensions.Model, command.Usage?.Model is { Length: > 0 } model ? model : State.Labels.GetValueOrDefault("model", ""));
        Add(UsageDimensions.Outcome, command.Outcome);
        foreach (var label in UsageDimensions.Labels) Add(label, State.Labels.GetValueOrDefault(label, ""));

        void Add(string dimension, string key)
        {
            if (key.Length > 0)
                journal.Add(new UsageDelta(scope, period, dimension, key, actual, 1, tokens.InputTokens, tokens.CachedInputTokens, tokens.OutputTokens, tokens.ReasoningTokens));
        }
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
        // Released now, or settled otherwise by another copy of this reservation: the switch above answers either.
        return await ReleaseAsync();
    }

    /// <summary>Expires the hold if its time has come (the shard calls it when the hold's expiry is due).</summary>
    public async Task ExpireAsync()
    {
        if (State.Status != ReservationStatus.Admitted) return;
        // A timer may fire early on a clock that was moved (tests); the hold lives until its own expiry time.
        if (NowUnixMs() < State.ExpiresAtUnixMs)
        {
            ArmExpiry();
            return;
        }
        if (await CloseHoldAsync(ReservationStatus.Expired) is not null) ArmExpiryIn(ExpiryRetryDelay);
    }

    /// <summary>
    /// Release or expiry: durable first, then the scopes (memory never shows less held than the store). The write is
    /// fenced with the epochs of the activations counting the hold, and only they take it back: a scope activation
    /// loaded after the write (the fencing of 0028 reloads them all) has the release in what it read (decision 0052).
    /// </summary>
    private async Task<Failure?> CloseHoldAsync(ReservationStatus status)
    {
        var held = State.HeldNanos;
        var journal = new List<IJournalRecord>(State.Chain.Length + 1);
        foreach (var scope in State.Chain) journal.Add(new ScopeCounterDelta(scope, HeldNanos: -held, OpenHolds: -1));
        journal.Add(new HoldClosed(GrainKey, State.ExpiresAtUnixMs));
        var meters = State.HeldMeters;
        if (meters.Length > 0) journal.Add(new MeterHoldDelta(State.Chain, meters, -1));
        for (var attempt = 1; ; attempt++)
        {
            var fences = HoldFences();
            if (await PersistAsync(State with { Status = status }, journal, fences) is not { } failure)
            {
                BudgetMeters.HoldClosed();
                await OnEveryFenceAsync(fences, (scope, epoch) => scope.ReleaseHoldAsync(GrainKey, held, epoch, meters));
                Finish();
                return null;
            }
            if (!FencedOut) return failure;
            if (await SettledInStoreAsync())
            {
                // Another copy of this reservation closed the hold (0028: a hold closes once); its scopes counted that.
                Finish();
                return null;
            }
            // A scope reloaded since the hold learned its epoch and counts the hold from the store: this reservation is
            // not stale, its fences are. Learn the activations holding now, and write again.
            FencedOut = false;
            if (attempt == CloseAttempts) return failure;
            try
            {
                await TrackHoldAsync();
            }
            catch (Exception e) when (e is StorageUnavailableException or OrleansMessageRejectionException or TimeoutException)
            {
                return Failure.Unavailable($"a scope of reservation '{GrainKey}' could not be reached: {e.Message}");
            }
        }
    }

    /// <summary>
    /// After a refused write of an open hold: in a cluster two copies of one reservation can hold it for a while (a silo
    /// taken for dead and the survivor that woke its holds), and the other may have settled it. True when the store says
    /// so; this copy then takes the stored state, and the refused change is undone already. Stores that refuse nothing
    /// (SQLite) never get here.
    /// </summary>
    private async Task<bool> SettledInStoreAsync()
    {
        var kept = State;
        try
        {
            await _state.ReadAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is StorageUnavailableException or System.Data.Common.DbException or IOException)
        {
            return false;
        }
        if (State.Status is ReservationStatus.Admitted or ReservationStatus.New)
        {
            State = kept;
            return false;
        }
        services.Logger.LogWarning("Reservation {ReservationId} was settled ({Status}) by another copy of it; this copy takes the stored outcome",
            GrainKey, State.Status);
        FencedOut = false;
        return true;
    }

    /// <summary>Tells every scope of the chain that it holds for this open reservation, and learns their epochs.</summary>
    private async Task TrackHoldAsync() =>
        _holdEpochs = await Task.WhenAll(State.Chain.Select(scope => services.Grains.Scope(scope).TrackOpenHoldAsync(id)));

    private ScopeFence[] HoldFences()
    {
        var fences = new ScopeFence[State.Chain.Length];
        for (var i = 0; i < fences.Length; i++) fences[i] = new ScopeFence(State.Chain[i], i < _holdEpochs.Length ? _holdEpochs[i] : 0);
        return fences;
    }

    /// <param name="denial">The denial counted by the scope that denied (null when no scope did, e.g. UNKNOWN_PRICE).</param>
    private async Task<Result<ReserveAnswer>> FinishDeniedAsync(string fingerprint, ReserveAnswer answer, ScopeCounterDelta? denial)
    {
        var denied = new ReservationState { Status = ReservationStatus.Denied, Fingerprint = fingerprint, Answer = answer, ReservedAtUnixMs = NowUnixMs() };
        if (await PersistAsync(denied, denial is null ? [] : [denial]) is { } failure)
        {
            if (denial is not null) await services.Grains.Scope(denial.Scope).UndoDenialAsync(denial.PeriodStartUnixMs);
            return failure;
        }
        Finish();
        return answer;
    }

    /// <summary>Makes <paramref name="next"/> the state, durably with <paramref name="journal"/>; on failure the state is unchanged.</summary>
    /// <param name="fences">The epochs of the scope activations that admitted the change (DESIGN.md §7).</param>
    /// <param name="storeState">False when a record of <paramref name="journal"/> carries the state (<see cref="HoldOpened.State"/>).</param>
    private async Task<Failure?> PersistAsync(ReservationState next, IReadOnlyList<IJournalRecord> journal, IReadOnlyList<ScopeFence>? fences = null,
        bool storeState = true)
    {
        var previous = State;
        State = next;
        try
        {
            await _state.WriteAsync(journal, fences, storeState);
            return null;
        }
        catch (StorageUnavailableException e)
        {
            State = previous;
            if (e.Fenced)
            {
                // Another silo holds a scope of the chain now: this activation (of a silo that was taken for dead) goes
                // too, so that the retry with the same id reloads the reservation wherever Orleans places it.
                services.Logger.LogWarning("Reservation {ReservationId}: the store refused its write, a scope activation that admitted it is stale", GrainKey);
                FencedOut = true;
                return Failure.Unavailable("this request's reservation or a scope of its chain moved to another silo; retry with the same id");
            }
            services.Logger.LogWarning(e, "Reservation {ReservationId} could not be made durable", GrainKey);
            return Failure.Unavailable("the change could not be made durable; retry with the same id");
        }
    }

    /// <summary>After a fenced refusal (and the undo on the same activations), tells the scopes whose epochs the write
    /// carried: each stale activation deactivates itself.</summary>
    private async Task FencedOutAsync(IReadOnlyList<ScopeFence> fences)
    {
        if (!FencedOut) return;
        await OnEveryFenceAsync(fences, (scope, epoch) => scope.FencedOutAsync(epoch));
    }

    /// <summary>Waits for a change sent to every scope of the chain at once; a failure names why a scope could not take it
    /// (the caller undoes it on the scopes that did).</summary>
    private async Task<Failure?> AwaitChainAsync(Task[] calls)
    {
        try
        {
            await Task.WhenAll(calls);
            return null;
        }
        // A scope on a silo that just died (OrleansMessageRejectionException, SiloUnavailableException) or too slow to answer
        // (TimeoutException): the scopes that did take the change are undone by the caller, or they would keep it.
        catch (Exception e) when (e is LimitExceededException or StorageUnavailableException or System.Data.Common.DbException
            or OrleansMessageRejectionException or TimeoutException)
        {
            services.Logger.LogWarning(e, "Reservation {ReservationId} could not reach its chain", GrainKey);
            return e is LimitExceededException ? Failure.Exhausted(e.Message) : Failure.Unavailable(e.Message);
        }
    }

    private Task UndoHoldsAsync(IReadOnlyList<ScopeFence> scopes, long amount, long tokens, IReadOnlyList<MeterQuantity> meters) =>
        OnEveryFenceAsync(scopes, (scope, epoch) => scope.UndoHoldAsync(GrainKey, amount, tokens, epoch, meters));

    /// <summary>Sends a change to every scope of <paramref name="fences"/> at once, each with the epoch it is fenced with.</summary>
    private async Task OnEveryFenceAsync(IReadOnlyList<ScopeFence> fences, Func<IScopeGrain, long, Task> change)
    {
        if (fences.Count == 0) return;
        var calls = new Task[fences.Count];
        for (var i = 0; i < fences.Count; i++) calls[i] = change(services.Grains.Scope(fences[i].Scope), fences[i].Epoch);
        try
        {
            await Task.WhenAll(calls);
        }
        catch (Exception e)
        {
            // The store is right; only this silo's memory keeps the hold (conservative) until the scope reactivates.
            services.Logger.LogError(e, "Reservation {ReservationId}: a scope kept a released hold in memory", GrainKey);
        }
    }

    private static Failure PricedTooHigh(long nanos) =>
        Failure.Invalid($"the usage prices at {nanos} nanos, over the {Limits.MaxCallAmountNanos} a single call may cost");

    /// <summary>Feeds the feature's learned estimate. Not awaited: the commit is durable and answered already, and a lost
    /// sample only makes the estimate a little older.</summary>
    private void LearnFrom(long actualNanos)
    {
        var key = State.EstimateKey;
        services.Grains.Estimate(key).RecordAsync(actualNanos).ContinueWith(
            t => services.Logger.LogWarning(t.Exception, "Estimate {Key} missed a sample", key),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private void ArmExpiry() => schedule.ExpireAt(id, State.ExpiresAtUnixMs);

    private void ArmExpiryIn(TimeSpan due) => schedule.ExpireAt(id, NowUnixMs() + (long)due.TotalMilliseconds);

    /// <summary>The reservation is settled: nothing will change it, and its expiry is taken off the schedule.</summary>
    private void Finish() => schedule.Cancel(id);

    private long NowUnixMs() => services.Clock.GetUtcNow().ToUnixTimeMilliseconds();
}
