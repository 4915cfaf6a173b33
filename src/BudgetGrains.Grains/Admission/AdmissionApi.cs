using BudgetGrains.Actors;
using BudgetGrains.Grains.Reservations;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Admission;

/// <summary>
/// The data plane (Reserve, Commit, Release, Check) over the grains. Input is validated here,
/// before any grain is touched, so bad input changes nothing.
/// </summary>
public sealed class AdmissionApi(IGrainFactory grains, PriceCatalog prices)
{
    public async Task<Result<ReserveAnswer>> ReserveAsync(ReserveCommand command)
    {
        if (RequestValidation.Reserve(command) is { } invalid) return invalid;
        try
        {
            return await grains.GetGrain<IReservationGrain>(command.RequestId).ReserveAsync(command);
        }
        catch (GrainOverloadedException e)
        {
            return Failure.Exhausted(e.Message);
        }
    }

    public async Task<Result<CommitAnswer>> CommitAsync(CommitCommand command)
    {
        if (RequestValidation.Commit(command) is { } invalid) return invalid;
        try
        {
            return await grains.GetGrain<IReservationGrain>(command.ReservationId).CommitAsync(command);
        }
        catch (GrainOverloadedException e)
        {
            return Failure.Exhausted(e.Message);
        }
    }

    public async Task<Result<ReleaseAnswer>> ReleaseAsync(string reservationId)
    {
        if (RequestValidation.Release(reservationId) is { } invalid) return invalid;
        try
        {
            return await grains.GetGrain<IReservationGrain>(reservationId).ReleaseAsync();
        }
        catch (GrainOverloadedException e)
        {
            return Failure.Exhausted(e.Message);
        }
    }

    public async Task<Result<CheckAnswer>> CheckAsync(CheckCommand command)
    {
        if (RequestValidation.Check(command) is { } invalid) return invalid;
        var amount = command.EstimateNanos;
        if (command.EstimateUsage is { } usage && !prices.TryPrice(usage, out amount))
            return new CheckAnswer(false, DenyReason.UnknownPrice, "", Remaining.Unlimited);
        var walk = await AdmissionChain.WalkAsync(grains, command.Attribution, scope => scope.CheckAsync(amount));
        if (walk.Failure is not null) return walk.Failure;
        return walk.DeniedAt is { } denied
            ? new CheckAnswer(false, denied.Reason, walk.DeniedScope, denied.RemainingNanos)
            : new CheckAnswer(true, DenyReason.None, "", AddBack(walk.RemainingNanos, amount));
    }

    /// <summary>Check reports what remains before the call; the scopes answered with the estimate taken off.</summary>
    private static long AddBack(long remaining, long amount) =>
        remaining == Remaining.Unlimited ? remaining : remaining + amount;
}
