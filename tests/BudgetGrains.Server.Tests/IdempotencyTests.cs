using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests;

/// <summary>I3: repeating Reserve / Commit / Release with the same id returns the same answer and changes nothing.</summary>
[Collection(SiloCollection.Name)]
public sealed class IdempotencyTests(SiloFixture silo)
{
    private const int Duplicates = 32;

    [Fact]
    public async Task ConcurrentDuplicateReservesHoldOnce()
    {
        var chain = Chain.Unique("i3-reserve");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);
        var request = Build.Reserve(chain.Attribution, 700);

        var answers = await Task.WhenAll(Enumerable.Range(0, Duplicates).Select(_ => Task.Run(() => silo.Admission.ReserveAsync(request).ResponseAsync)));

        Assert.All(answers, a => Assert.Equal(answers[0], a));
        Assert.Equal(Decision.Admitted, answers[0].Decision);
        Assert.Equal(request.RequestId, answers[0].ReservationId);
        foreach (var scope in chain.Scopes)
            Assert.Equal((700L, 1), ((await silo.Management.StatusAsync(scope)).HeldNanos, (await silo.Management.StatusAsync(scope)).OpenHolds));
    }

    [Fact]
    public async Task RequestIdReusedWithOtherParametersIsRefused()
    {
        var chain = Chain.Unique("i3-reuse");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);
        var first = Build.Reserve(chain.Attribution, 700);
        await silo.Admission.ReserveAsync(first);

        var reused = first.Clone();
        reused.EstimateNanos = 701;
        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(reused).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("different parameters", error.Status.Detail);
        Assert.Equal(700, (await silo.Management.StatusAsync(chain.TeamScope)).HeldNanos);
    }

    [Fact]
    public async Task ConcurrentDuplicateCommitsSpendOnce()
    {
        var chain = Chain.Unique("i3-commit");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 700));
        var commit = new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = 650, Outcome = "resolved" };

        var answers = await Task.WhenAll(Enumerable.Range(0, Duplicates).Select(_ => Task.Run(() => silo.Admission.CommitAsync(commit).ResponseAsync)));

        Assert.All(answers, a => Assert.Equal(new CommitResponse { ChargedNanos = 650 }, a));
        var ledger = await silo.Silo.Store.SumLedgerByScopeAsync(CancellationToken.None);
        foreach (var scope in chain.Scopes)
        {
            var status = await silo.Management.StatusAsync(scope);
            Assert.Equal((650L, 0L, 0, 1L), (status.SpentNanos, status.HeldNanos, status.OpenHolds, status.Commits));
            Assert.Equal(650, ledger[scope]);
        }

        var different = commit.Clone();
        different.ActualNanos = 651;
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(() => silo.Admission.CommitAsync(different).ResponseAsync)).StatusCode);
    }

    [Fact]
    public async Task DuplicateReleasesReleaseOnceAndSettledReservationsRefuseTheOtherEnding()
    {
        var chain = Chain.Unique("i3-release");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);
        var released = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 700));
        var committed = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 300));
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = committed.ReservationId, ActualNanos = 300 });

        var answers = await Task.WhenAll(Enumerable.Range(0, Duplicates).Select(_ => Task.Run(() =>
            silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = released.ReservationId }).ResponseAsync)));

        Assert.All(answers, a => Assert.True(a.Released));
        var team = await silo.Management.StatusAsync(chain.TeamScope);
        Assert.Equal((300L, 0L, 0), (team.SpentNanos, team.HeldNanos, team.OpenHolds));
        var commitAfterRelease = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Admission.CommitAsync(new CommitRequest { ReservationId = released.ReservationId, ActualNanos = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, commitAfterRelease.StatusCode);
        var releaseAfterCommit = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = committed.ReservationId }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, releaseAfterCommit.StatusCode);
        Assert.Equal(300, (await silo.Management.StatusAsync(chain.TeamScope)).SpentNanos);
    }

    [Fact]
    public async Task RepeatedDenyKeepsItsAnswerAfterTheBudgetGrows()
    {
        var chain = Chain.Unique("i3-deny");
        await chain.CreateAsync(silo.Management, generous: 1_000_000, new Dictionary<string, long> { [chain.FeatureScope] = 100 });
        var request = Build.Reserve(chain.Attribution, 500);
        var first = await silo.Admission.ReserveAsync(request);

        await silo.Management.SetBudgetAsync(chain.FeatureScope, 1_000_000, parent: chain.TeamScope);
        var again = await silo.Admission.ReserveAsync(request);

        Assert.Equal(Decision.Denied, first.Decision);
        Assert.Equal(first, again);
        Assert.Equal(1, (await silo.Management.StatusAsync(chain.FeatureScope)).Denials);
    }
}
