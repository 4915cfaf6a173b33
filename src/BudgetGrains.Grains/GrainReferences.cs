using Orleans.Runtime;
using BudgetGrains.Grains.Estimates;
using BudgetGrains.Grains.Reservations;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains;

/// <summary>
/// References to the grains on the admission path. Orleans' <c>GetGrain&lt;T&gt;(string)</c> resolves the
/// interface's grain type through reflection on its attributes on every call: profiled, that was about 14% of the
/// silo's CPU for a Check. The grain type and interface type are constants per interface, so they are resolved
/// once, by the first reference Orleans makes, and each later reference is built from them and the key.
/// </summary>
public static class GrainReferences
{
    public static IScopeGrain Scope(this IGrainFactory grains, string scope) => Get<IScopeGrain>(grains, scope);

    /// <summary>The shard that keeps the reservation of <paramref name="requestId"/>.</summary>
    public static IReservationShardGrain ReservationShard(this IGrainFactory grains, string requestId) =>
        Get<IReservationShardGrain>(grains, ReservationShards.Of(requestId));

    public static IEstimateGrain Estimate(this IGrainFactory grains, string key) => Get<IEstimateGrain>(grains, key);

    private static T Get<T>(IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        if (Types<T>.Resolved is not { } types)
        {
            var first = grains.GetGrain<T>(key);
            var reference = (GrainReference)(object)first;
            Types<T>.Resolved = new ResolvedTypes<T>(reference.GrainId.Type, reference.InterfaceType);
            return first;
        }
        return (T)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface);
    }

    // One per interface; the same for every silo in a process, since both names come from the interface's attributes.
    private sealed record ResolvedTypes<T>(GrainType Grain, GrainInterfaceType Interface);

    private static class Types<T>
    {
        public static volatile ResolvedTypes<T>? Resolved;
    }
}
