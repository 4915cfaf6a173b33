using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests;

/// <summary>A reserve without an estimate holds the p95 of its feature and model's recent actual costs, and says so.</summary>
[Collection(SiloCollection.Name)]
public sealed class LearnedEstimateTests(SiloFixture silo)
{
    [Fact]
    public async Task WithoutHistoryAReserveWithoutEstimateIsRefusedAndChangesNothing()
    {
        var feature = Build.UniqueKey("unlearned");
        var request = Build.Reserve(new Attribution { Feature = feature, Labels = { ["model"] = "m1" } }, 0);

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("give estimate_nanos", error.Status.Detail);
        Assert.Equal(0, (await silo.Management.StatusAsync("feature/" + feature)).OpenHolds);
    }

    [Fact]
    public async Task ReserveWithoutEstimateHoldsTheP95OfRecentActualsOfTheSameFeatureAndModel()
    {
        var feature = Build.UniqueKey("learned");
        var model = new Attribution { Feature = feature, Labels = { ["model"] = "m1" } };
        var otherModel = new Attribution { Feature = feature, Labels = { ["model"] = "m2" } };
        // Actuals 100, 200, ... 2000: the p95 of 20 values is the 19th smallest.
        for (var i = 1; i <= 20; i++)
        {
            var reserve = await silo.Admission.ReserveAsync(Build.Reserve(model, 5_000));
            Assert.Equal(EstimateSource.Given, reserve.EstimateSource);
            await silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = i * 100 });
        }

        var learned = await Build.EventuallyAsync(async () =>
        {
            var probe = await silo.Admission.ReserveAsync(Build.Reserve(model, 0));
            await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = probe.ReservationId });
            return probe.HeldNanos == 1_900 && probe.EstimateSource == EstimateSource.Learned;
        }, TimeSpan.FromSeconds(5));
        var unlearnedModel = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(Build.Reserve(otherModel, 0)).ResponseAsync);

        Assert.True(learned, "the reserve did not hold the learned p95 of 1,900");
        Assert.Equal(StatusCode.FailedPrecondition, unlearnedModel.StatusCode);
    }

    [Fact]
    public async Task PricedUsageSaysItWasPriced()
    {
        var request = Build.Reserve(new Attribution { Feature = Build.UniqueKey("priced-source") }, 0);
        request.EstimateUsage = new TokenUsage { Model = SiloFixture.PricedModel, OutputTokens = 10 };

        var answer = await silo.Admission.ReserveAsync(request);

        Assert.Equal((EstimateSource.PricedUsage, 40_000L), (answer.EstimateSource, answer.HeldNanos));
    }
}
