using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Reservations;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Tests;

/// <summary>The two limits of a reservation shard (I5): how many reservations it keeps in memory, and how many calls of one
/// request id wait behind each other. One more is RESOURCE_EXHAUSTED with a message that says what to do, and changes nothing.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ShardLimitTests(ClusterFixture fixture)
{
    private readonly AdmissionApi _admission = new(fixture.Grains, PriceCatalog.Empty);

    [Fact]
    public async Task AShardHoldsAtMostItsLimitOfReservations()
    {
        var tenant = $"shard-full-{Guid.NewGuid():N}";
        var shard = ReservationShards.Of(tenant + "-probe");
        // Request ids that all land in one shard: the limit is per shard.
        var ids = Enumerable.Range(0, int.MaxValue).Select(i => $"{tenant}-{i}").Where(id => ReservationShards.Of(id) == shard)
            .Take(Limits.MaxReservationsPerShard + 1).ToArray();
        var attribution = new Attribution(Tenant: tenant);
        var held = ids[..Limits.MaxReservationsPerShard];
        try
        {
            await ForEachAsync(held, async id => Assert.True((await _admission.ReserveAsync(Reserve(id, attribution))).Value!.Admitted));

            var refused = await _admission.ReserveAsync(Reserve(ids[^1], attribution));

            Assert.Equal(FailureKind.ResourceExhausted, refused.Failure?.Kind);
            Assert.Contains($"{Limits.MaxReservationsPerShard} reservations are open", refused.Failure!.Message, StringComparison.Ordinal);
            var status = await fixture.Grains.GetGrain<IScopeGrain>("tenant/" + tenant).GetStatusAsync();
            Assert.Equal(Limits.MaxReservationsPerShard, status.OpenHolds);

            // A hold that settles makes room.
            Assert.True((await _admission.ReleaseAsync(held[0])).Value!.Released);
            Assert.True((await _admission.ReserveAsync(Reserve(ids[^1], attribution))).Value!.Admitted);
            held[0] = ids[^1];
        }
        finally
        {
            // The shard is shared with the other tests of this cluster.
            await ForEachAsync(held, id => _admission.ReleaseAsync(id));
        }
    }

    [Fact]
    public async Task CallsOfOneRequestIdWaitAtMostTheirLimitDeep()
    {
        var tenant = $"dup-flood-{Guid.NewGuid():N}";
        var attribution = new Attribution(Tenant: tenant);
        // Many copies at once: while the first one's write is in the journal the others queue behind it. On a fast
        // machine a round may drain before the queue passes the limit, so up to ten rounds, each with a new id.
        for (var round = 0; round < 10; round++)
        {
            var command = Reserve($"{tenant}-{round}", attribution);
            var answers = await Task.WhenAll(Enumerable.Range(0, 20 * Limits.MaxCallsPerRequestId).Select(_ => Task.Run(() => _admission.ReserveAsync(command))));

            var refused = answers.Where(a => a.Failure is not null).ToList();
            Assert.All(refused, a =>
            {
                Assert.Equal(FailureKind.ResourceExhausted, a.Failure!.Kind);
                Assert.Contains($"{Limits.MaxCallsPerRequestId} calls with request id", a.Failure.Message, StringComparison.Ordinal);
            });
            var admitted = answers.Where(a => a.Failure is null).Select(a => a.Value!).ToList();
            Assert.NotEmpty(admitted);
            Assert.All(admitted, a => Assert.Equal(admitted[0], a));
            // However many were refused, the id held once.
            var status = await fixture.Grains.GetGrain<IScopeGrain>("tenant/" + tenant).GetStatusAsync();
            Assert.Equal(round + 1, status.OpenHolds);
            if (refused.Count > 0) return;
        }
        Assert.Fail($"in ten rounds of {20 * Limits.MaxCallsPerRequestId} copies no call waited behind {Limits.MaxCallsPerRequestId} others");
    }

    private static ReserveCommand Reserve(string requestId, Attribution attribution) =>
        new(requestId, attribution, 1_000, null, new TaskPosition(0, false), 0);

    /// <summary>Runs <paramref name="call"/> for every id, 64 at a time.</summary>
    private static Task ForEachAsync(IEnumerable<string> ids, Func<string, Task> call) =>
        Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (id, _) => await call(id));
}
