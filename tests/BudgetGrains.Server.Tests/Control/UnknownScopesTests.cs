using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using BudgetGrains.Server.Tests.Rest;

namespace BudgetGrains.Server.Tests.Control;

/// <summary>
/// Closed mode (DESIGN.md §3, decision 0023): a chain without a budget on any scope is denied NO_BUDGET when the
/// deployment or the tenant says closed, on reserve and check alike, over gRPC and REST; default budgets per scope kind.
/// </summary>
public sealed class UnknownScopesTests : IAsyncLifetime
{
    private OwnSilo _closed = null!;
    private RestCalls _rest = null!;

    public async Task InitializeAsync()
    {
        var options = OwnSilo.NewOptions("closed");
        options.UnknownScopes = "closed";
        options.DefaultBudgets["agent"] = new DefaultBudgetOptions { LimitNanos = 1_000, Period = "month", ThresholdPercents = [90] };
        _closed = await OwnSilo.StartAsync(options);
        _rest = new RestCalls(_closed.Silo);
    }

    public async Task DisposeAsync()
    {
        _rest.Dispose();
        await _closed.DisposeAsync();
    }

    [Fact]
    public async Task ATypoInAClosedDeploymentIsDeniedNoBudgetOnReserveAndCheckAndHoldsNothing()
    {
        var attribution = new Attribution { Tenant = Build.UniqueKey("acmee"), Feature = Build.UniqueKey("rerankk") };

        var reserve = await _closed.Admission.ReserveAsync(Build.Reserve(attribution, 500));
        var check = await _closed.Admission.CheckAsync(new CheckRequest { Attribution = attribution, EstimateNanos = 500 });
        var status = await _closed.Management.StatusAsync("feature/" + attribution.Feature);

        Assert.Equal((Decision.Denied, DenyReason.NoBudget, "feature/" + attribution.Feature, 0L),
            (reserve.Decision, reserve.Reason, reserve.DeniedScope, reserve.RemainingNanos));
        Assert.Equal((Decision.Denied, DenyReason.NoBudget, "feature/" + attribution.Feature), (check.Decision, check.Reason, check.DeniedScope));
        Assert.Equal((0L, 0), (status.HeldNanos, status.OpenHolds));
    }

    [Fact]
    public async Task RestShowsNoBudget()
    {
        var tenant = Build.UniqueKey("rest-nb");

        using var response = await _rest.SendAsync(HttpMethod.Post, "api/v1/reserve",
            $$"""{"requestId": "{{Build.NewRequestId()}}", "attribution": {"tenant": "{{tenant}}"}, "estimateNanos": "5"}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"reason\": \"NO_BUDGET\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABudgetAnywhereOnTheChainAdmits()
    {
        var key = Build.UniqueKey("budgeted");
        await _closed.Management.SetBudgetAsync("team/" + key, 0); // no limit, but a budget someone set

        var reserve = await _closed.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = Build.UniqueKey("t"), Feature = key, Team = key }, 5));

        Assert.Equal(Decision.Admitted, reserve.Decision);
    }

    [Fact]
    public async Task ATenantSetToOpenIsAdmittedInAClosedDeployment()
    {
        var tenant = Build.UniqueKey("open-tenant");
        var set = await _closed.Management.SetTenantSettingsAsync(new SetTenantSettingsRequest { Tenant = tenant, UnknownScopes = UnknownScopes.Open });

        var reserve = await _closed.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant, Feature = Build.UniqueKey("f") }, 5));
        var status = await _closed.Management.StatusAsync("tenant/" + tenant);

        Assert.Equal((UnknownScopes.Open, UnknownScopes.Open), (set.UnknownScopes, set.EffectiveUnknownScopes));
        Assert.Equal(Decision.Admitted, reserve.Decision);
        Assert.False(status.HasBudget(), "the tenant's setting does not give it a budget");
    }

    [Fact]
    public async Task AScopeOfAKindWithADefaultBudgetGetsItOnFirstUse()
    {
        var agent = Build.UniqueKey("agent");
        var attribution = new Attribution { Tenant = Build.UniqueKey("t"), Agent = agent };

        var checkedFirst = await _closed.Admission.CheckAsync(new CheckRequest { Attribution = attribution, EstimateNanos = 1_500 });
        var before = await _closed.Management.StatusAsync("agent/" + agent);
        var first = await _closed.Admission.ReserveAsync(Build.Reserve(attribution, 600));
        var second = await _closed.Admission.ReserveAsync(Build.Reserve(attribution, 600));
        var after = await _closed.Management.StatusAsync("agent/" + agent);
        var listed = await _closed.Management.ListBudgetsAsync(new ListBudgetsRequest { ScopePrefix = "agent/" + agent });

        Assert.Equal((Decision.Denied, DenyReason.BudgetExhausted), (checkedFirst.Decision, checkedFirst.Reason));
        Assert.Equal((1_000L, true), (before.LimitNanos, before.DefaultBudget));
        Assert.Equal(Decision.Admitted, first.Decision);
        Assert.Equal((Decision.Denied, DenyReason.BudgetExhausted, "agent/" + agent), (second.Decision, second.Reason, second.DeniedScope));
        Assert.Equal((1_000L, Period.Month, true, 600L), (after.LimitNanos, after.Period, after.DefaultBudget, after.HeldNanos));
        Assert.Equal([90], after.ThresholdPercents);
        Assert.Equal("agent/" + agent, Assert.Single(listed.Budgets).Scope);
    }

    [Fact]
    public async Task FreezingAnUnusedScopeOfADefaultedKindGivesItTheDefaultFrozen()
    {
        var agent = "agent/" + Build.UniqueKey("agent-freeze");

        var unused = await _closed.Management.StatusAsync(agent);
        var frozen = await _closed.Management.FreezeBudgetAsync(new FreezeBudgetRequest { Scope = agent });
        var reserve = await _closed.Admission.ReserveAsync(Build.Reserve(new Attribution { Agent = agent[6..] }, 1));

        Assert.Equal((Period.Month, true), (unused.Period, unused.PeriodStartUnixMs > 0));
        Assert.Equal((1_000L, Period.Month, true, true), (frozen.LimitNanos, frozen.Period, frozen.Frozen, frozen.DefaultBudget));
        Assert.True(frozen.PeriodEndUnixMs > frozen.PeriodStartUnixMs);
        Assert.Equal((Decision.Denied, DenyReason.Frozen), (reserve.Decision, reserve.Reason));
    }

    [Fact]
    public async Task SettingTheBudgetOfADefaultedScopeMakesItItsOwn()
    {
        var agent = Build.UniqueKey("agent-own");
        await _closed.Admission.ReserveAsync(Build.Reserve(new Attribution { Agent = agent }, 1));

        var set = await _closed.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "agent/" + agent, RequestsPerMinute = 60 });

        Assert.Equal((1_000L, Period.Month, 60L, false), (set.LimitNanos, set.Period, set.RequestsPerMinute, set.DefaultBudget));
    }
}

/// <summary>The tenant override in an open deployment (the shared silo).</summary>
[Collection(SiloCollection.Name)]
public sealed class TenantClosedTests(SiloFixture silo)
{
    [Fact]
    public async Task RestSetsAndReadsATenantsSettings()
    {
        using var rest = new RestCalls(silo.Silo);
        var tenant = Build.UniqueKey("rest-tenant");

        var set = await rest.CallAsync<TenantSettings>(HttpMethod.Put, "api/v1/tenant-settings/" + tenant, """{"unknownScopes": "UNKNOWN_SCOPES_CLOSED"}""");
        var read = await rest.CallAsync<TenantSettings>(HttpMethod.Get, "api/v1/tenant-settings/" + tenant);
        var denied = await rest.CallAsync<CheckResponse>(HttpMethod.Post, "api/v1/check", $$"""{"attribution": {"tenant": "{{tenant}}"}, "estimateNanos": "1"}""");
        var bad = await rest.ErrorAsync(HttpMethod.Put, "api/v1/tenant-settings/bad%20tenant", 400, "INVALID_ARGUMENT", "{}");

        Assert.Equal((tenant, UnknownScopes.Closed, UnknownScopes.Closed), (set.Tenant, set.UnknownScopes, set.EffectiveUnknownScopes));
        Assert.Equal(set, read);
        Assert.Equal((Decision.Denied, DenyReason.NoBudget), (denied.Decision, denied.Reason));
        Assert.Contains("tenant", bad, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATenantSetToClosedIsDeniedNoBudgetWhileOthersAreAdmitted()
    {
        var (closed, open) = (Build.UniqueKey("closed-tenant"), Build.UniqueKey("other-tenant"));
        var set = await silo.Management.SetTenantSettingsAsync(new SetTenantSettingsRequest { Tenant = closed, UnknownScopes = UnknownScopes.Closed });
        var feature = Build.UniqueKey("rerankk");

        var denied = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = closed, Feature = feature }, 5));
        var check = await silo.Admission.CheckAsync(new CheckRequest { Attribution = new Attribution { Tenant = closed, Feature = feature }, EstimateNanos = 5 });
        var admitted = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = open, Feature = feature }, 5));
        await silo.Management.SetBudgetAsync("feature/" + feature, 1_000);
        var budgeted = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = closed, Feature = feature }, 5));
        var read = await silo.Management.GetTenantSettingsAsync(new GetTenantSettingsRequest { Tenant = closed });
        var unset = await silo.Management.SetTenantSettingsAsync(new SetTenantSettingsRequest { Tenant = closed });

        Assert.Equal((UnknownScopes.Closed, UnknownScopes.Closed), (set.UnknownScopes, set.EffectiveUnknownScopes));
        Assert.Equal((Decision.Denied, DenyReason.NoBudget), (denied.Decision, denied.Reason));
        Assert.Equal((Decision.Denied, DenyReason.NoBudget), (check.Decision, check.Reason));
        Assert.Equal(Decision.Admitted, admitted.Decision);
        Assert.Equal(Decision.Admitted, budgeted.Decision);
        Assert.Equal(UnknownScopes.Closed, read.UnknownScopes);
        Assert.Equal((UnknownScopes.Unspecified, UnknownScopes.Open), (unset.UnknownScopes, unset.EffectiveUnknownScopes));
    }
}
