using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Client.Tests;

/// <summary>The SDK's typed results against a real silo, with the server's counters as the referee.</summary>
[Collection(SiloCollection.Name)]
public sealed class AdmissionTests(SiloFixture silo)
{
    [Fact]
    public async Task ReserveThenCommitChargesTheActualAndReturnsTheRest()
    {
        var tenant = await silo.NewTenantAsync("commit", limitNanos: 1_000);
        await using var client = silo.NewClient();

        await using var hold = await client.ReserveAsync(new Attribution { Tenant = tenant, Labels = new Dictionary<string, string> { ["model"] = "m" } }, 600);

        Assert.True(hold.Admitted);
        Assert.Equal(HoldState.Open, hold.State);
        Assert.Equal(hold.RequestId, hold.ReservationId);
        Assert.Equal(600, hold.HeldNanos);
        Assert.Equal(400, hold.RemainingNanos);
        Assert.Null(hold.Reason);
        Assert.Null(hold.DeniedScope);
        Assert.Equal([new ThresholdCrossing("tenant/" + tenant, 50)], hold.CrossedThresholds);
        var ttl = hold.ExpiresAt!.Value - DateTimeOffset.UtcNow;
        Assert.InRange(ttl, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));

        var commit = await hold.CommitAsync(550, "resolved");

        Assert.Equal(new CommitResult(550, Late: false, Overage: false), commit);
        Assert.Equal(HoldState.Committed, hold.State);
        var status = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((550L, 0L, 0, 1L), (status.SpentNanos, status.HeldNanos, status.OpenHolds, status.Commits));
    }

    [Fact]
    public async Task CommitAboveTheEstimateIsRecordedAsOverage()
    {
        var tenant = await silo.NewTenantAsync("overage", limitNanos: 1_000);
        await using var client = silo.NewClient();

        await using var hold = await client.ReserveAsync(new Attribution { Tenant = tenant }, 100);
        var commit = await hold.CommitAsync(250);

        Assert.Equal(new CommitResult(250, Late: false, Overage: true), commit);
        Assert.Equal(250, (await silo.StatusAsync("tenant/" + tenant)).SpentNanos);
    }

    [Fact]
    public async Task ReleaseRemovesTheHoldAndSpendsNothing()
    {
        var tenant = await silo.NewTenantAsync("release", limitNanos: 1_000);
        await using var client = silo.NewClient();

        await using var hold = await client.ReserveAsync(new Attribution { Tenant = tenant }, 700, new ReserveOptions { HoldTtl = TimeSpan.FromMinutes(2) });
        Assert.Equal(700, (await silo.StatusAsync("tenant/" + tenant)).HeldNanos);
        Assert.InRange(hold.ExpiresAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2));

        Assert.True(await hold.ReleaseAsync());

        Assert.Equal(HoldState.Released, hold.State);
        var status = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((0L, 0L, 0), (status.SpentNanos, status.HeldNanos, status.OpenHolds));
        await Assert.ThrowsAsync<InvalidOperationException>(() => hold.CommitAsync(1));
    }

    [Fact]
    public async Task ADenyIsAResultWithReasonScopeAndRemaining()
    {
        var tenant = await silo.NewTenantAsync("deny", limitNanos: 1_000);
        await using var client = silo.NewClient();
        await using var first = await client.ReserveAsync(new Attribution { Tenant = tenant }, 800);

        await using var denied = await client.ReserveAsync(new Attribution { Tenant = tenant }, 300);

        Assert.False(denied.Admitted);
        Assert.Equal(HoldState.Denied, denied.State);
        Assert.Null(denied.ReservationId);
        Assert.Equal(DenyReason.BudgetExhausted, denied.Reason);
        Assert.Equal("tenant/" + tenant, denied.DeniedScope);
        Assert.Equal(200, denied.RemainingNanos);
        Assert.Null(denied.ExpiresAt);
        await Assert.ThrowsAsync<InvalidOperationException>(() => denied.CommitAsync(1));
        Assert.False(await denied.ReleaseAsync());
        var status = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((800L, 1, 1L), (status.HeldNanos, status.OpenHolds, status.Denials));
    }

    [Fact]
    public async Task AFrozenScopeDeniesWithFrozen()
    {
        var key = $"frozen-{Guid.NewGuid():N}";
        await silo.Management.UpsertBudgetAsync(new V1.UpsertBudgetRequest { Scope = "team/" + key, LimitNanos = 1_000, Frozen = true });
        await using var client = silo.NewClient();

        var check = await client.CheckAsync(new Attribution { Team = key }, 1);
        await using var hold = await client.ReserveAsync(new Attribution { Team = key }, 1);

        Assert.Equal(new CheckResult(false, DenyReason.Frozen, "team/" + key, 1_000), check);
        Assert.Equal((false, DenyReason.Frozen, "team/" + key), (hold.Admitted, hold.Reason, hold.DeniedScope));
    }

    [Fact]
    public async Task CheckSaysWhatWouldHappenWithoutHoldingAnything()
    {
        var tenant = await silo.NewTenantAsync("check", limitNanos: 1_000);
        await using var client = silo.NewClient();

        var yes = await client.CheckAsync(new Attribution { Tenant = tenant }, 1_000);
        var no = await client.CheckAsync(new Attribution { Tenant = tenant }, 1_001);
        var unlimited = await client.CheckAsync(new Attribution { Tenant = $"nobudget-{Guid.NewGuid():N}" }, 5);

        Assert.Equal(new CheckResult(true, null, null, 1_000), yes);
        Assert.Equal(new CheckResult(false, DenyReason.BudgetExhausted, "tenant/" + tenant, 1_000), no);
        Assert.Equal(new CheckResult(true, null, null, null), unlimited);
        var status = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((0L, 0L, 0L), (status.HeldNanos, status.SpentNanos, status.Denials));
    }

    [Fact]
    public async Task UsageIsPricedByTheServer()
    {
        var tenant = await silo.NewTenantAsync("usage", limitNanos: 1_000_000);
        await using var client = silo.NewClient();

        await using var hold = await client.ReserveAsync(new Attribution { Tenant = tenant }, new TokenUsage(SiloFixture.PricedModel, InputTokens: 100, OutputTokens: 50));
        var commit = await hold.CommitAsync(new TokenUsage(SiloFixture.PricedModel, InputTokens: 100, OutputTokens: 20));
        await using var unpriced = await client.ReserveAsync(new Attribution { Tenant = tenant }, new TokenUsage("no-such-model", InputTokens: 1));

        Assert.Equal(100 * 1_000 + 50 * 4_000, hold.HeldNanos);
        Assert.Equal(100 * 1_000 + 20 * 4_000, commit.ChargedNanos);
        Assert.Equal(DenyReason.UnknownPrice, unpriced.Reason);
        Assert.Equal(180_000, (await silo.StatusAsync("tenant/" + tenant)).SpentNanos);
    }

    [Fact]
    public async Task MetersArePricedByTheServerAndAMeterLimitDeniesNamingItsReason()
    {
        var gpu = $"gpu_{Guid.NewGuid():N}";
        await silo.Management.UpsertMeterAsync(new V1.UpsertMeterRequest { Meter = new V1.Meter { Name = gpu, Unit = "second", PriceNanos = 10, PerUnits = 1, AsOf = "2026-12-02" } });
        var tenant = await silo.NewTenantAsync("meters", limitNanos: 1_000_000);
        await silo.Management.UpsertBudgetAsync(new V1.UpsertBudgetRequest { Scope = "tenant/" + tenant, LimitNanos = 1_000_000,
            MeterLimits = { new V1.MeterLimit { Meter = gpu, MaxQuantity = 100 } } });
        await using var client = silo.NewClient();
        var attribution = new Attribution { Tenant = tenant };

        await using var hold = await client.ReserveAsync(attribution, 500, new ReserveOptions { Meters = [new MeterUsage(gpu, 60)] });
        await using var over = await client.ReserveAsync(attribution, 500, new ReserveOptions { Meters = [new MeterUsage(gpu, 41)] });
        var commit = await hold.CommitAsync(500, "resolved", [new MeterUsage(gpu, 45)]);
        var unknown = await Assert.ThrowsAsync<BudgetException>(() => client.ReserveAsync(attribution, 1, new ReserveOptions { Meters = [new MeterUsage("no_such_meter", 1)] }));

        Assert.Equal((true, 500 + 60 * 10L), (hold.Admitted, hold.HeldNanos));
        Assert.Equal((false, DenyReason.MeterLimit, "tenant/" + tenant), (over.Admitted, over.Reason, over.DeniedScope));
        Assert.Equal(new CommitResult(500 + 45 * 10, Late: false, Overage: false), commit);
        Assert.Equal(BudgetErrorCode.FailedPrecondition, unknown.Code);
        var status = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((950L, 0L), (status.SpentNanos, status.HeldNanos));
        Assert.Equal((45L, 0L), (status.Meters.Single().UsedQuantity, status.Meters.Single().HeldQuantity));
    }

    [Fact]
    public async Task AGivenRequestIdMakesReserveIdempotent()
    {
        var tenant = await silo.NewTenantAsync("idem", limitNanos: 1_000);
        await using var client = silo.NewClient();
        var options = new ReserveOptions { RequestId = "sdk-" + Guid.NewGuid().ToString("N") };

        var first = await client.ReserveAsync(new Attribution { Tenant = tenant }, 300, options);
        var again = await client.ReserveAsync(new Attribution { Tenant = tenant }, 300, options);

        Assert.Equal(options.RequestId, first.ReservationId);
        Assert.Equal(options.RequestId, again.ReservationId);
        Assert.Equal(first.RemainingNanos, again.RemainingNanos);
        var status = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((300L, 1), (status.HeldNanos, status.OpenHolds));
        var reused = await Assert.ThrowsAsync<BudgetException>(() => client.ReserveAsync(new Attribution { Tenant = tenant }, 301, options));
        Assert.Equal(BudgetErrorCode.FailedPrecondition, reused.Code);
        Assert.True(await first.ReleaseAsync());
    }

    [Fact]
    public async Task AwaitUsingReleasesTheHoldWhenTheModelCallThrows()
    {
        var tenant = await silo.NewTenantAsync("using", limitNanos: 1_000);
        await using var client = silo.NewClient();
        BudgetHold? seen = null;

        var thrown = await Assert.ThrowsAsync<TimeoutException>(async () =>
        {
            await using var hold = await client.ReserveAsync(new Attribution { Tenant = tenant }, 900);
            seen = hold;
            Assert.Equal((900L, 1), await HeldAsync());
            throw new TimeoutException("the model did not answer");
        });

        Assert.Equal("the model did not answer", thrown.Message);
        Assert.Equal(HoldState.Released, seen!.State);
        Assert.Equal((0L, 0), await HeldAsync());
        Assert.Equal(0, (await silo.StatusAsync("tenant/" + tenant)).SpentNanos);

        async Task<(long, int)> HeldAsync()
        {
            var status = await silo.StatusAsync("tenant/" + tenant);
            return (status.HeldNanos, status.OpenHolds);
        }
    }

    [Fact]
    public async Task DisposingACommittedHoldKeepsTheSpend()
    {
        var tenant = await silo.NewTenantAsync("keep", limitNanos: 1_000);
        await using var client = silo.NewClient();

        await using (var hold = await client.ReserveAsync(new Attribution { Tenant = tenant }, 500))
        {
            await hold.CommitAsync(420);
        }

        var status = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((420L, 0L, 0), (status.SpentNanos, status.HeldNanos, status.OpenHolds));
    }

    [Fact]
    public async Task ServerErrorsAreTypedAndNotRetried()
    {
        var tenant = await silo.NewTenantAsync("errors", limitNanos: 1_000);
        await using var client = silo.NewClient();

        var empty = await Assert.ThrowsAsync<BudgetException>(() => client.ReserveAsync(new Attribution { Tenant = tenant }, 1, new ReserveOptions { RequestId = "" }));
        var unknown = await Assert.ThrowsAsync<BudgetException>(() => client.CommitAsync("never-reserved-" + Guid.NewGuid().ToString("N"), 1));

        Assert.Equal((BudgetErrorCode.InvalidArgument, "request_id is required", 1), (empty.Code, empty.Detail, empty.Attempts));
        Assert.Equal((BudgetErrorCode.NotFound, 1), (unknown.Code, unknown.Attempts));
    }

    [Fact]
    public async Task RateLimitedDenyCarriesWhenToRetry()
    {
        var team = "rate-" + Guid.NewGuid().ToString("N");
        await silo.Management.UpsertBudgetAsync(new V1.UpsertBudgetRequest { Scope = "team/" + team, RequestsPerMinute = 1 });
        await using var client = silo.NewClient();

        await using var first = await client.ReserveAsync(new Attribution { Team = team }, 10);
        await using var second = await client.ReserveAsync(new Attribution { Team = team }, 10);
        var check = await client.CheckAsync(new Attribution { Team = team }, 10);

        Assert.True(first.Admitted);
        Assert.Equal((false, DenyReason.RateLimited, "team/" + team), (second.Admitted, second.Reason, second.DeniedScope));
        Assert.InRange(second.RetryAfter!.Value, TimeSpan.FromSeconds(55), TimeSpan.FromSeconds(60));
        Assert.Equal(DenyReason.RateLimited, check.Reason);
        Assert.NotNull(check.RetryAfter);
    }
}
