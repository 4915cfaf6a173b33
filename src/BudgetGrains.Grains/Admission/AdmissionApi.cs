using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Reservations;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Admission;

/// <summary>
/// The data plane (Reserve, Commit, Release, Check) over the grains. Input is validated here,
/// before any grain is touched, so bad input changes nothing.
/// </summary>
/// <param name="meters">The meter catalog that prices Check's meters; none = every meter is unknown.</param>
/// <param name="localScopes">The silo's scope activations: Check reads the figures of those active here instead of
/// calling them (docs/decisions/0051-checks-read-published-figures.md); none = every check calls the grains.</param>
/// <param name="clock">The silo's clock (the scopes' periods end by it).</param>
public sealed class AdmissionApi(IGrainFactory grains, PriceCatalog prices, Settings.ScopeDefaults? scopeDefaults = null, Meters.MeterCatalog? meters = null,
    ScopeActivations? localScopes = null, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Settings.ScopeDefaults _defaults = scopeDefaults ?? Settings.ScopeDefaults.Open;
    private readonly Meters.MeterCatalog _meters = meters ?? new Meters.MeterCatalog();

    public Task<Result<ReserveAnswer>> ReserveAsync(ReserveCommand command) =>
        RequestValidation.Reserve(command) is { } invalid
            ? Task.FromResult<Result<ReserveAnswer>>(invalid)
            : CallReservationAsync(command.RequestId, r => r.ReserveAsync(command));

    public Task<Result<CommitAnswer>> CommitAsync(CommitCommand command) =>
        RequestValidation.Commit(command) is { } invalid
            ? Task.FromResult<Result<CommitAnswer>>(invalid)
            : CallReservationAsync(command.ReservationId, r => r.CommitAsync(command));

    public Task<Result<ReleaseAnswer>> ReleaseAsync(string reservationId) =>
        RequestValidation.Release(reservationId) is { } invalid
            ? Task.FromResult<Result<ReleaseAnswer>>(invalid)
            : CallReservationAsync(reservationId, r => r.ReleaseAsync(reservationId));

    public async Task<Result<CheckAnswer>> CheckAsync(CheckCommand command)
    {
        if (RequestValidation.Check(command) is { } invalid) return invalid;
        // As Reserve: an unknown meter is refused before an unknown model is denied.
        var metered = _meters.Price(command.MeterEstimate);
        if (metered.Unknown.Length > 0) return metered.UnknownFailure;
        var amount = command.EstimateNanos;
        if (command.EstimateUsage is { } usage && !prices.TryPrice(usage, out amount))
            return new CheckAnswer(false, DenyReason.UnknownPrice, "", Remaining.Unlimited);
        amount += metered.TotalNanos;
        if (amount > Limits.MaxCallAmountNanos)
            return Failure.Invalid($"the estimate prices at more than the {Limits.MaxCallAmountNanos} nanos a single call may cost");
        var tokens = command.EstimateUsage?.Total ?? 0;
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var meters = command.MeterEstimate;
        var walk = await AdmissionChain.WalkAsync(grains, command.Attribution, scope => scope.CheckAsync(amount, tokens, meters),
            localScopes is null ? null : key => localScopes.Check(key, amount, now));
        if (walk.Failure is not null) return walk.Failure;
        if (walk.DeniedAt is { } denied)
            return new CheckAnswer(false, denied.Reason, walk.DeniedScope, denied.RemainingNanos, denied.RetryAfterMs, denied.DeniedMeter, denied.RemainingMeterQuantity);
        if (walk.DeniedForNoBudget(_defaults) is { } unbudgeted) return new CheckAnswer(false, DenyReason.NoBudget, unbudgeted, 0);
        if (command.Attribution.TaskScope is { Length: > 0 } taskScope)
        {
            var call = new TaskCall("", command.Task.Depth, command.Task.IsRetry, walk.InheritedTaskPolicy(command.Attribution), amount, AlreadyHeld: false);
            var verdict = await grains.Scope(taskScope).CheckTaskCallAsync(call);
            if (!verdict.Admitted) return new CheckAnswer(false, verdict.Reason, taskScope, verdict.RemainingNanos);
        }
        return new CheckAnswer(true, DenyReason.None, "", AddBack(walk.RemainingNanos, amount));
    }

    /// <summary>A full shard or too many calls with one id is a limit (I5), answered as such, not as an unknown error.</summary>
    private async Task<Result<T>> CallReservationAsync<T>(string id, Func<IReservationShardGrain, Task<Result<T>>> call) where T : class
    {
        try
        {
            return await call(grains.ReservationShard(id));
        }
        catch (Orleans.Runtime.LimitExceededException e)
        {
            return Failure.Exhausted(e.Message);
        }
    }

    /// <summary>Check reports what remains before the call; the scopes answered with the estimate taken off.</summary>
    private static long AddBack(long remaining, long amount) =>
        remaining == Remaining.Unlimited ? remaining : remaining + amount;
}
