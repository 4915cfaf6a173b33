using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests;

/// <summary>I1: whatever the interleaving, the chain admits exactly what its tightest scope allows, never more.</summary>
[Collection(SiloCollection.Name)]
public sealed class NoOverAdmissionTests(SiloFixture silo)
{
    private const int Callers = 64;
    private const int AttemptsPerCaller = 8;
    private const long Estimate = 1_000;
    private const int AllowedHolds = 37;

    public enum Tight { Leaf, Middle, Root }

    [Theory]
    [InlineData(Tight.Leaf)]
    [InlineData(Tight.Middle)]
    [InlineData(Tight.Root)]
    public async Task ConcurrentReservesAdmitExactlyWhatTheTightestScopeAllows(Tight tight)
    {
        var chain = Chain.Unique("i1-" + tight);
        var tightScope = tight switch { Tight.Leaf => chain.FeatureScope, Tight.Middle => chain.TeamScope, _ => chain.CostCenterScope };
        await chain.CreateAsync(silo.Management, generous: Estimate * 1_000_000,
            new Dictionary<string, long> { [tightScope] = Estimate * AllowedHolds });

        var answers = new ConcurrentBag<ReserveResponse>();
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < AttemptsPerCaller; i++)
                answers.Add(await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, Estimate)));
        })));

        Assert.Equal(AllowedHolds, answers.Count(a => a.Decision == Decision.Admitted));
        var denied = answers.Where(a => a.Decision == Decision.Denied).ToList();
        Assert.Equal(Callers * AttemptsPerCaller - AllowedHolds, denied.Count);
        Assert.All(denied, d => Assert.Equal((DenyReason.BudgetExhausted, tightScope), (d.Reason, d.DeniedScope)));

        // Denied requests left nothing behind: every scope holds exactly the admitted reserves.
        foreach (var scope in chain.Scopes)
        {
            var status = await silo.Management.StatusAsync(scope);
            Assert.Equal((Estimate * AllowedHolds, AllowedHolds), (status.HeldNanos, status.OpenHolds));
            Assert.True(status.SpentNanos + status.HeldNanos <= status.LimitNanos);
        }
        // The tight scope is exactly full: nothing left for one more call.
        var check = await silo.Admission.CheckAsync(new CheckRequest { Attribution = chain.Attribution, EstimateNanos = 1 });
        Assert.Equal((Decision.Denied, tightScope, 0L), (check.Decision, check.DeniedScope, check.RemainingNanos));
    }

    /// <summary>
    /// I1 and I2 with reserves, commits and releases interleaved, in waves: the reserves of one wave run while the holds
    /// of the wave before are committed or released, and retry until every one of those has ended and the team still
    /// denies, so each wave fills the team to its limit. Between waves the test knows exactly what the team must hold
    /// (the wave's admissions) and must have spent (every commit so far): no commit exceeds its estimate, so spent + held
    /// over the limit is an over-admission, whatever the counters the server reports.
    /// </summary>
    [Fact]
    public async Task ConcurrentReserveCommitReleaseNeverExceedTheLimit()
    {
        const int waves = 8;
        var chain = Chain.Unique("i1-mixed");
        const long limit = Estimate * 20;
        await chain.CreateAsync(silo.Management, generous: limit * 1_000, new Dictionary<string, long> { [chain.TeamScope] = limit });

        var random = new Random(42);
        long committed = 0;
        List<(string Reservation, long? Actual)> open = [];
        for (var wave = 0; wave <= waves; wave++)
        {
            var ended = 0;
            var previous = open;
            var ending = Task.Run(async () =>
            {
                await Task.WhenAll(previous.Select(hold => Task.Run(async () =>
                {
                    if (hold.Actual is { } actual)
                    {
                        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = hold.Reservation, ActualNanos = actual });
                        Interlocked.Add(ref committed, actual);
                    }
                    else
                    {
                        await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = hold.Reservation });
                    }
                })));
                Volatile.Write(ref ended, 1);
            });
            if (wave == waves)
            {
                await ending;
                break;
            }

            var admitted = new ConcurrentBag<string>();
            await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
            {
                while (true)
                {
                    var afterEnds = Volatile.Read(ref ended) == 1;
                    var reserve = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, Estimate));
                    if (reserve.Decision == Decision.Admitted)
                    {
                        admitted.Add(reserve.ReservationId);
                        return;
                    }
                    // Denied after every earlier hold had ended: only this wave's admissions fill the team now.
                    if (afterEnds) return;
                    await Task.Delay(1);
                }
            })));
            await ending;

            // This wave's holds are all open, the previous wave's all ended: the team holds exactly the wave's admissions
            // and has spent exactly what was committed; together never more than the limit, and the wave filled it.
            var held = Estimate * admitted.Count;
            Assert.True(committed + held <= limit, $"wave {wave}: {admitted.Count} holds admitted next to {committed} spent, over the limit {limit}");
            var team = await silo.Management.StatusAsync(chain.TeamScope);
            Assert.Equal((committed, held, admitted.Count), (team.SpentNanos, team.HeldNanos, team.OpenHolds));
            Assert.True(limit - committed - held < Estimate, $"wave {wave}: the team was left with room for another hold");

            // Half committed with an actual up to a quarter of the estimate (never above it), half released.
            open = [.. admitted.Select(id => (id, random.Next(2) == 0 ? (long?)random.Next(0, (int)(Estimate / 4) + 1) : null))];
        }

        // I2: spent is exactly the committed actuals; with no reservation open nothing is held.
        var final = await silo.Management.StatusAsync(chain.TeamScope);
        Assert.Equal((committed, 0L, 0), (final.SpentNanos, final.HeldNanos, final.OpenHolds));
        Assert.True(final.SpentNanos <= limit, $"spent {final.SpentNanos} over limit {limit} without any commit above estimate");
    }
}
