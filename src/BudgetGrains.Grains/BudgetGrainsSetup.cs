using System.Text.Json.Serialization;
using BudgetGrains.Actors;
using BudgetGrains.Grains.Estimates;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Reservations;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;

namespace BudgetGrains.Grains;

/// <summary>Registers the budget grains with a runtime and restores what a restart needs.</summary>
public static class BudgetGrainsSetup
{
    /// <summary>Scopes are few and hot: keep them; settled reservations deactivate at once by themselves.</summary>
    public static readonly TimeSpan ScopeIdleTimeout = TimeSpan.FromMinutes(30);

    /// <summary>How many open reservations are woken per store query after a restart.</summary>
    private const int WakeBatch = 1_000;

    public static void Configure(ActorRuntimeOptions options)
    {
        options.StateSerializerOptions.TypeInfoResolverChain.Insert(0, BudgetStateJsonContext.Default);
        options.IdleTimeoutByGrainType[GrainTypes.Scope] = ScopeIdleTimeout;
    }

    public static ActorRuntime AddBudgetGrains(this ActorRuntime runtime) => runtime
        .AddGrain<IScopeGrain, ScopeGrain>()
        .AddGrain<IReservationGrain, ReservationGrain>()
        .AddGrain<IEstimateGrain, EstimateGrain>()
        .AddGrain<IPriceCatalogGrain, PriceCatalogGrain>();

    /// <summary>Activates every reservation with an open hold, so its expiry timer runs again. Returns how many.</summary>
    public static async Task<int> WakeOpenReservationsAsync(IGrainFactory grains, IBudgetStore store, CancellationToken cancellationToken)
    {
        var woken = 0;
        for (var after = OpenHold.First; ;)
        {
            var holds = await store.ListOpenHoldsAsync(after, WakeBatch, cancellationToken);
            if (holds.Count == 0) return woken;
            await Task.WhenAll(holds.Select(hold => grains.GetGrain<IReservationGrain>(hold.ReservationId).WakeAsync()));
            woken += holds.Count;
            after = holds[^1];
        }
    }
}

[JsonSerializable(typeof(ScopeState))]
[JsonSerializable(typeof(ReservationState))]
[JsonSerializable(typeof(EstimateState))]
internal sealed partial class BudgetStateJsonContext : JsonSerializerContext;
