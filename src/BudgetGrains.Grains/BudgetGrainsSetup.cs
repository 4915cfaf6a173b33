using System.Text.Json.Serialization;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Estimates;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Reservations;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BudgetGrains.Grains;

/// <summary>Restores what a restart of the budget grains needs.</summary>
public static class BudgetGrainsSetup
{
    /// <summary>Scopes are few and hot: keep them (Orleans' collection age for the scope grain type). Reservation shards
    /// are never collected for idleness; a settled reservation leaves its shard's memory at once.</summary>
    public static readonly TimeSpan ScopeIdleTimeout = TimeSpan.FromMinutes(30);

    /// <summary>The silo services the grains are built with, besides a journal backend (<see cref="IJournalStore"/>) and its
    /// read sides, the price catalog and the alert sinks: the journal itself and the alert signal.</summary>
    public static IServiceCollection AddBudgetGrainServices(this IServiceCollection services)
    {
        // The silo registers its configured ScopeDefaults first; without one, unknown scopes are open, as before.
        services.TryAddSingleton(Settings.ScopeDefaults.Open);
        // The settings grain storage on the journal; a silo of the Azure profile replaces it (OrleansHosting).
        Orleans.Runtime.Hosting.StorageProviderExtensions.AddGrainStorage(services, SettingsStorage.Name,
            (provider, _) => new JournalGrainStorage(provider.GetRequiredService<JournalService>()));
        return services
            .AddSingleton<JournalService>()
            .AddSingleton<OpenHoldStates>()
            .AddSingleton<Scopes.ScopeActivations>()
            .AddSingleton<Meters.MeterCatalog>()
            .AddSingleton<AlertSignal>();
    }

    /// <summary>How many open reservations are woken per store query after a restart.</summary>
    private const int WakeBatch = 1_000;

    /// <summary>Loads every reservation with an open hold into its shard, so that its hold expires on time again. Returns how many.</summary>
    /// <param name="keepsOpenHoldStates">The store keeps open holds' states in its hold index: every shard takes its own
    /// when it activates (<see cref="OpenHoldStates"/>), so waking is activating each shard.</param>
    public static async Task<int> WakeOpenReservationsAsync(IGrainFactory grains, IBudgetStore store, bool keepsOpenHoldStates, CancellationToken cancellationToken)
    {
        if (keepsOpenHoldStates)
        {
            var loaded = await Task.WhenAll(ReservationShards.All.Select(shard => grains.GetGrain<IReservationShardGrain>(shard).WakeAsync([])));
            return loaded.Sum();
        }
        var woken = 0;
        for (var after = OpenHold.First; ;)
        {
            var holds = await store.ListOpenHoldsAsync(after, WakeBatch, cancellationToken);
            if (holds.Count == 0) return woken;
            await Task.WhenAll(holds.GroupBy(hold => ReservationShards.Of(hold.ReservationId))
                .Select(shard => grains.ReservationShard(shard.First().ReservationId).WakeAsync(shard.Select(h => h.ReservationId).ToArray())));
            woken += holds.Count;
            after = holds[^1];
        }
    }
}

[JsonSerializable(typeof(ScopeState))]
[JsonSerializable(typeof(ReservationState))]
[JsonSerializable(typeof(EstimateState))]
internal sealed partial class BudgetStateJsonContext : JsonSerializerContext;
