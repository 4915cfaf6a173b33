using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Grains.Reservations;

/// <summary>What a reservation works with: the silo's services, handed over by its shard.</summary>
internal sealed record ReservationServices(IGrainFactory Grains, PriceCatalog Prices, AlertSignal AlertSignal, JournalService Journal,
    TimeProvider Clock, Settings.ScopeDefaults ScopeDefaults, ILogger Logger, Meters.MeterCatalog Meters);

/// <summary>When a reservation's open hold expires: kept by its shard, one timer for all its holds.</summary>
internal interface IReservationSchedule
{
    /// <summary>Expire <paramref name="reservationId"/> at <paramref name="unixMs"/> (replacing an earlier time).</summary>
    void ExpireAt(string reservationId, long unixMs);

    /// <summary>The reservation settled: no expiry.</summary>
    void Cancel(string reservationId);
}
