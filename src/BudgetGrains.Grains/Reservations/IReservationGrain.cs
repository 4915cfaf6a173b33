using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Reservations;

/// <summary>
/// One reservation, keyed by the client's request id (which is also the reservation id). Its turns
/// serialize every request with that id, so duplicates, even concurrent ones, have one effect.
/// </summary>
public interface IReservationGrain : IGrainWithStringKey
{
    /// <summary>Hold the estimate on every scope of the chain, or deny; durable before it answers.</summary>
    Task<Result<ReserveAnswer>> ReserveAsync(ReserveCommand command);

    /// <summary>Replace the hold by the actual spend and append a ledger entry; durable before it answers.</summary>
    Task<Result<CommitAnswer>> CommitAsync(CommitCommand command);

    /// <summary>Remove the hold, spend nothing.</summary>
    Task<Result<ReleaseAnswer>> ReleaseAsync();

    /// <summary>Activate, so an open hold's expiry timer runs (used after a restart).</summary>
    Task WakeAsync();
}
