using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace BudgetGrains.Grains.Tests;

/// <summary>
/// What the budget grains promise on Orleans, tested on a test cluster with the real journal: one request id has one
/// effect however many copies arrive at once (the reservation's turns serialize them), a scope never admits more than it
/// has under concurrent reserves, open holds outlive Orleans' idle collection until they expire, and grain timers do
/// their work with nobody calling (expiry, the period boundary).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GrainBehaviourTests(ClusterFixture fixture)
{
    private readonly AdmissionApi _admission = new(fixture.Grains, PriceCatalog.Empty);

    [Fact]
    public async Task ConcurrentCopiesOfOneReserveGetOneAnswerAndHoldOnce()
    {
        var team = Unique("dup");
        await SetLimitAsync("team/" + team, 1_000);
        var command = Reserve("dup-" + Guid.NewGuid().ToString("N"), new Attribution(Team: team), 100);

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => _admission.ReserveAsync(command))));

        Assert.All(answers, a => Assert.Equal(answers[0].Value, a.Value));
        Assert.True(answers[0].Value!.Admitted);
        var status = await StatusAsync("team/" + team);
        Assert.Equal((100L, 1), (status.HeldNanos, status.OpenHolds));
    }

    [Fact]
    public async Task ConcurrentReservesOnOneScopeAdmitExactlyWhatTheLimitHolds()
    {
        var team = Unique("cap");
        await SetLimitAsync("team/" + team, 1_000);

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(i =>
            Task.Run(() => _admission.ReserveAsync(Reserve($"{team}-{i}", new Attribution(Tenant: team, Team: team), 100)))));

        Assert.Equal(10, answers.Count(a => a.Value!.Admitted));
        Assert.All(answers.Where(a => !a.Value!.Admitted), a => Assert.Equal(DenyReason.BudgetExhausted, a.Value!.Reason));
        var status = await StatusAsync("team/" + team);
        Assert.Equal((1_000L, 10, 0L), (status.HeldNanos, status.OpenHolds, status.SpentNanos));
    }

    [Fact]
    public async Task AnOpenHoldOutlivesForcedCollectionAndStillExpiresOnTime()
    {
        var tenant = Unique("expiry");
        var reserved = await _admission.ReserveAsync(Reserve(tenant, new Attribution(Tenant: tenant), 100, holdTtlMs: 2_000));
        Assert.True(reserved.Value!.Admitted);

        // Everything idle is collected now, except what must stay: the reservation (its expiry timer) and the scope
        // holding for it. Had the reservation gone, nothing would release the hold before the next restart.
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        ClusterFixture.Clock.Advance(TimeSpan.FromMilliseconds(1_999));
        await Task.Delay(200);
        Assert.Equal(1, (await StatusAsync("tenant/" + tenant)).OpenHolds);

        ClusterFixture.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await StatusAsync("tenant/" + tenant)).OpenHolds != 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        var status = await StatusAsync("tenant/" + tenant);
        Assert.Equal((0L, 0), (status.HeldNanos, status.OpenHolds));
        Assert.False((await _admission.ReleaseAsync(tenant)).Value!.Released);
    }

    [Fact]
    public async Task HoldsOfOneShardExpireEachAtItsOwnTimeUnderTheShardsOneTimer()
    {
        var tenant = Unique("shard");
        // Three request ids of one shard, reserved latest expiry first, so the shard's timer must move earlier twice.
        var first = tenant + "-0";
        var ids = new List<string> { first };
        for (var i = 1; ids.Count < 3; i++)
            if (Reservations.ReservationShards.Of($"{tenant}-{i}") == Reservations.ReservationShards.Of(first)) ids.Add($"{tenant}-{i}");
        foreach (var (id, amount, ttl) in new[] { (ids[0], 100L, 3_000L), (ids[1], 10L, 1_000L), (ids[2], 1L, 2_000L) })
            Assert.True((await _admission.ReserveAsync(Reserve(id, new Attribution(Tenant: tenant), amount, ttl))).Value!.Admitted);

        Assert.Equal(111, await HeldAfterAsync(TimeSpan.FromMilliseconds(999), expected: 111));
        Assert.Equal(101, await HeldAfterAsync(TimeSpan.FromMilliseconds(1), expected: 101));
        Assert.Equal(100, await HeldAfterAsync(TimeSpan.FromSeconds(1), expected: 100));
        Assert.Equal(0, await HeldAfterAsync(TimeSpan.FromSeconds(1), expected: 0));
        Assert.All(ids, id => Assert.False(_admission.ReleaseAsync(id).GetAwaiter().GetResult().Value!.Released));

        // Moves the clock, then waits until the scope holds what is expected (at most 20 s), or, when that is what it
        // held before, a moment more, so that an early expiry would show.
        async Task<long> HeldAfterAsync(TimeSpan advance, long expected)
        {
            ClusterFixture.Clock.Advance(advance);
            await Task.Delay(200);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            long held;
            while ((held = (await StatusAsync("tenant/" + tenant)).HeldNanos) != expected && DateTime.UtcNow < deadline) await Task.Delay(100);
            return held;
        }
    }

    [Fact]
    public async Task ARepeatedCommitAfterTheReservationLeftMemoryGetsTheSameAnswerAndSpendsOnce()
    {
        var tenant = Unique("again");
        await _admission.ReserveAsync(Reserve(tenant, new Attribution(Tenant: tenant), 100));
        var commit = new CommitCommand(tenant, 60, null, "resolved");
        var first = await _admission.CommitAsync(commit);

        // A settled reservation deactivates; the retry reloads it from the journal.
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var again = await _admission.CommitAsync(commit);

        Assert.Equal(first.Value, again.Value);
        Assert.Equal(60, (await StatusAsync("tenant/" + tenant)).SpentNanos);
    }

    [Fact]
    public async Task AnActiveScopeClosesItsPeriodAtTheBoundaryByItsTimerWithNobodyCallingIt()
    {
        var team = Unique("period");
        var scope = "team/" + team;
        await fixture.Grains.GetGrain<IScopeGrain>(scope).SetBudgetAsync(new BudgetUpdate(new BudgetSettings(scope, 1_000, BudgetPeriod.Hour, [], "", false, "USD"), BudgetFields.All));
        await _admission.ReserveAsync(Reserve(team, new Attribution(Team: team), 100));
        await _admission.CommitAsync(new CommitCommand(team, 70, null, "resolved"));
        var store = fixture.SiloServices.GetRequiredService<IBudgetStore>();
        Assert.Empty(await store.ListClosedPeriodsAsync(scope, long.MaxValue, 10, CancellationToken.None));

        // Past the next hour boundary: the scope's period timer closes the hour into history by itself.
        ClusterFixture.Clock.Advance(TimeSpan.FromHours(1));
        IReadOnlyList<PeriodSummary> closed = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(20); closed.Count == 0 && DateTime.UtcNow < deadline; await Task.Delay(100))
            closed = await store.ListClosedPeriodsAsync(scope, long.MaxValue, 10, CancellationToken.None);

        var hour = Assert.Single(closed);
        Assert.Equal((BudgetPeriod.Hour, 70L, 1L), (hour.Period, hour.SpentNanos, hour.Commits));
        Assert.Equal(0, (await StatusAsync(scope)).SpentNanos);
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static ReserveCommand Reserve(string requestId, Attribution attribution, long estimateNanos, long holdTtlMs = 0) =>
        new(requestId, attribution, estimateNanos, null, new TaskPosition(0, false), holdTtlMs);

    private Task SetLimitAsync(string scope, long limitNanos) => fixture.Grains.GetGrain<IScopeGrain>(scope)
        .SetBudgetAsync(new BudgetUpdate(new BudgetSettings(scope, limitNanos, BudgetPeriod.None, [], "", false, "USD"), BudgetFields.All));

    private Task<BudgetStatus> StatusAsync(string scope) => fixture.Grains.GetGrain<IScopeGrain>(scope).GetStatusAsync();
}
