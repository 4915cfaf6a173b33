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

    [Fact]
    public async Task ConcurrentReserveCommitReleaseNeverExceedTheLimit()
    {
        var chain = Chain.Unique("i1-mixed");
        const long limit = Estimate * 20;
        await chain.CreateAsync(silo.Management, generous: limit * 1_000, new Dictionary<string, long> { [chain.TeamScope] = limit });

        var violations = 0;
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            var random = new Random(caller);
            for (var i = 0; i < AttemptsPerCaller; i++)
            {
                var reserve = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, Estimate));
                if (reserve.Decision != Decision.Admitted) continue;
                if (reserve.RemainingNanos < 0) Interlocked.Increment(ref violations);
                if (random.Next(2) == 0)
                    await silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = random.Next(0, (int)Estimate + 1) });
                else
                    await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = reserve.ReservationId });
            }
        })));

        Assert.Equal(0, violations);
        var team = await silo.Management.StatusAsync(chain.TeamScope);
        Assert.Equal(0, team.HeldNanos);
        Assert.True(team.SpentNanos <= limit, $"spent {team.SpentNanos} over limit {limit} without any commit above estimate");
    }
}
