using System.Net;
using BudgetGrains.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using static BudgetGrains.Server.Tests.Auth.AuthFixture;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>The cross-tenant matrix: reserve, commit, release, check, get, list, usage and alerts with keys of tenant A
/// and tenant B, over gRPC and REST.</summary>
[Collection(AuthCollection.Name)]
public sealed class TenantIsolationTests(AuthFixture silo)
{
    private Attribution OfA(string feature = "") => new() { Tenant = silo.TenantA, Feature = feature.Length == 0 ? Build.UniqueKey("f") : feature };

    private static async Task<StatusCode> StatusOf(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    [Fact]
    public async Task AnAgentReservesForItsTenantOnlyAndItsIdsComeBackAsItGaveThem()
    {
        var id = Build.NewRequestId();
        var mine = await silo.Admission.ReserveAsync(Build.Reserve(OfA(), 100, id), As(silo.AgentA));

        Assert.Equal((Decision.Admitted, id), (mine.Decision, mine.ReservationId));
        var otherTenant = await StatusOf(() => silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = silo.TenantB }, 100), As(silo.AgentA)).ResponseAsync);
        var noTenant = await StatusOf(() => silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Feature = "search" }, 100), As(silo.AgentA)).ResponseAsync);
        var checkOther = await StatusOf(() => silo.Admission.CheckAsync(new CheckRequest { Attribution = new Attribution { Tenant = silo.TenantB }, EstimateNanos = 1 }, As(silo.AgentA)).ResponseAsync);
        var checkMine = await silo.Admission.CheckAsync(new CheckRequest { Attribution = OfA(), EstimateNanos = 1 }, As(silo.AgentA));

        Assert.Equal((StatusCode.PermissionDenied, StatusCode.PermissionDenied, StatusCode.PermissionDenied), (otherTenant, noTenant, checkOther));
        Assert.Equal(Decision.Admitted, checkMine.Decision);
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = id, ActualNanos = 60 }, As(silo.AgentA));
        var status = await silo.Management.GetBudgetAsync(new GetBudgetRequest { Scope = "tenant/" + silo.TenantA }, As(silo.AdminKey));
        Assert.True(status.SpentNanos >= 60);
    }

    [Fact]
    public async Task AnotherTenantsReservationIdsAreNotFoundExactlyLikeIdsNeverUsed()
    {
        var id = Build.NewRequestId();
        await silo.Admission.ReserveAsync(Build.Reserve(OfA(), 100, id), As(silo.AgentA));
        var never = Build.NewRequestId();

        var commit = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.CommitAsync(new CommitRequest { ReservationId = id, ActualNanos = 1 }, As(silo.AgentB)).ResponseAsync);
        var release = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = id }, As(silo.AgentB)).ResponseAsync);
        var neverUsed = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = never }, As(silo.AgentB)).ResponseAsync);

        Assert.Equal((StatusCode.NotFound, StatusCode.NotFound), (commit.StatusCode, release.StatusCode));
        Assert.Equal(neverUsed.Status.Detail.Replace(never, "ID", StringComparison.Ordinal), release.Status.Detail.Replace(id, "ID", StringComparison.Ordinal));
        Assert.DoesNotContain(silo.TenantA, release.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(silo.TenantB, release.Status.Detail, StringComparison.Ordinal);

        // Tenant A's hold is untouched, and B may use the same request id for a reservation of its own.
        var held = await silo.Management.GetBudgetAsync(new GetBudgetRequest { Scope = "tenant/" + silo.TenantA }, As(silo.AdminKey));
        Assert.True(held.HeldNanos >= 100);
        var theirs = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = silo.TenantB }, 7, id), As(silo.AgentB));
        Assert.Equal((Decision.Admitted, id), (theirs.Decision, theirs.ReservationId));
        Assert.True((await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = id }, As(silo.AgentA))).Released);
        Assert.True((await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = id }, As(silo.AgentB))).Released);
    }

    [Fact]
    public async Task AnAdminReachesATenantsReservationAsTenantSlashId()
    {
        var id = Build.NewRequestId();
        await silo.Admission.ReserveAsync(Build.Reserve(OfA(), 10, id), As(silo.AgentA));

        var released = await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = $"{silo.TenantA}/{id}" }, As(silo.AdminKey));

        Assert.True(released.Released);
        var again = await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = id }, As(silo.AgentA));
        Assert.True(again.Released); // idempotent: the same reservation, already released
    }

    [Fact]
    public async Task AnAgentWatchesOnlyItsOwnTenantsScopes()
    {
        var foreign = new WatchBudgetsRequest { Scopes = { "tenant/" + silo.TenantB } };
        var foreignTask = new WatchBudgetsRequest { Scopes = { $"task/{silo.TenantB}/run-1" } };
        var theirAttribution = new WatchBudgetsRequest { Attribution = new Attribution { Tenant = silo.TenantB } };
        var rpc = AllRpcs.Single(m => m.Name == "WatchBudgets");

        Assert.Equal(StatusCode.PermissionDenied, await silo.CallRawAsync(rpc, silo.AgentA, foreign));
        Assert.Equal(StatusCode.PermissionDenied, await silo.CallRawAsync(rpc, silo.AgentA, foreignTask));
        Assert.Equal(StatusCode.PermissionDenied, await silo.CallRawAsync(rpc, silo.AgentA, theirAttribution));
        Assert.Equal(StatusCode.DeadlineExceeded, await silo.CallRawAsync(rpc, silo.AgentA, new WatchBudgetsRequest { Attribution = OfA() }));
    }

    [Fact]
    public async Task ATenantsViewerSeesItsScopesAndWhatTheyRollUpIntoAndNothingOfOtherTenants()
    {
        var costCenter = "cost_center/" + Build.UniqueKey("cc");
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = costCenter, LimitNanos = 1_000_000 }, As(silo.AdminKey));
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "tenant/" + silo.TenantA, LimitNanos = 10_000, Parent = costCenter }, As(silo.AdminKey));
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "tenant/" + silo.TenantB, LimitNanos = 10_000, Parent = costCenter }, As(silo.AdminKey));
        var feature = "feature/" + Build.UniqueKey("shared");
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = feature, LimitNanos = 10_000 }, As(silo.AdminKey));

        Assert.Equal(10_000, (await silo.Management.GetBudgetAsync(new GetBudgetRequest { Scope = "tenant/" + silo.TenantA }, As(silo.ViewerA))).LimitNanos);
        Assert.Equal(1_000_000, (await silo.Management.GetBudgetAsync(new GetBudgetRequest { Scope = costCenter }, As(silo.ViewerA))).LimitNanos);
        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.GetBudgetAsync(new GetBudgetRequest { Scope = "tenant/" + silo.TenantB }, As(silo.ViewerA)).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.GetBudgetAsync(new GetBudgetRequest { Scope = feature }, As(silo.ViewerA)).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.GetUsageAsync(new GetUsageRequest { Scope = "tenant/" + silo.TenantB }, As(silo.ViewerA)).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.ListPeriodsAsync(new ListPeriodsRequest { Scope = "tenant/" + silo.TenantB }, As(silo.ViewerA)).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.GetTaskPolicyAsync(new GetTaskPolicyRequest { Scope = $"task/{silo.TenantB}/t" }, As(silo.ViewerA)).ResponseAsync));
        Assert.Equal(StatusCode.OK, await StatusOf(() => silo.Management.GetUsageAsync(new GetUsageRequest { Scope = "tenant/" + silo.TenantA }, As(silo.ViewerA)).ResponseAsync));
        // Task reports: its own tenant's tasks only, named in the request.
        foreach (var tenant in new[] { "", silo.TenantB })
        {
            Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.GetCostPerOutcomeAsync(
                new GetCostPerOutcomeRequest { GroupBy = "tenant", Tenant = tenant }, As(silo.ViewerA)).ResponseAsync));
            Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.GetJobReportAsync(
                new GetJobReportRequest { Tenant = tenant }, As(silo.ViewerA)).ResponseAsync));
        }

        var listed = await ListAllAsync(silo.ViewerA);
        Assert.Contains("tenant/" + silo.TenantA, listed);
        Assert.Contains(costCenter, listed);
        Assert.DoesNotContain("tenant/" + silo.TenantB, listed);
        Assert.DoesNotContain(feature, listed);
        var everything = await ListAllAsync(silo.Viewer);
        Assert.Contains("tenant/" + silo.TenantB, everything);
        Assert.Contains(feature, everything);

        // Agents read nothing through Management.
        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.GetBudgetAsync(new GetBudgetRequest { Scope = "tenant/" + silo.TenantA }, As(silo.AgentA)).ResponseAsync));
    }

    private async Task<List<string>> ListAllAsync(string key)
    {
        var scopes = new List<string>();
        var request = new ListBudgetsRequest { PageSize = 1000 };
        do
        {
            var page = await silo.Management.ListBudgetsAsync(request, As(key));
            scopes.AddRange(page.Budgets.Select(b => b.Scope));
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return scopes;
    }

    [Fact]
    public async Task ATenantsViewerMayNotAskForAnAllocationWhichSplitsCostsOverEveryTenant()
    {
        var request = new GetAllocationRequest { Dimension = "tenant", FromUnixMs = 1_793_491_200_000, ToUnixMs = 1_796_083_200_000 };

        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => silo.Management.GetAllocationAsync(request, As(silo.ViewerA)).ResponseAsync));
        Assert.Equal(StatusCode.OK, await StatusOf(() => silo.Management.GetAllocationAsync(request, As(silo.Viewer)).ResponseAsync));
    }

    [Fact]
    public async Task ATenantsViewerListsAndWatchesOnlyTheAlertsOfItsScopes()
    {
        foreach (var tenant in new[] { silo.TenantA, silo.TenantB })
        {
            await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "tenant/" + tenant, LimitNanos = 1_000, ThresholdPercents = { 10 } }, As(silo.AdminKey));
        }
        var a = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = silo.TenantA }, 500), As(silo.AgentA));
        var b = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = silo.TenantB }, 500), As(silo.AgentB));
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = a.ReservationId, ActualNanos = 500 }, As(silo.AgentA));
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = b.ReservationId, ActualNanos = 500 }, As(silo.AgentB));

        async Task<List<Alert>> Alerts(string key) =>
            [.. (await silo.Management.ListAlertsAsync(new ListAlertsRequest { PageSize = 1000 }, As(key))).Alerts];
        Assert.True(await Build.EventuallyAsync(async () => (await Alerts(silo.Viewer)).Any(x => x.Scope == "tenant/" + silo.TenantB)
            && (await Alerts(silo.Viewer)).Any(x => x.Scope == "tenant/" + silo.TenantA), TimeSpan.FromSeconds(30)));

        var seen = await Alerts(silo.ViewerA);
        Assert.Contains(seen, x => x.Scope == "tenant/" + silo.TenantA);
        Assert.All(seen, x => Assert.True(x.Scope == "tenant/" + silo.TenantA || !x.Scope.StartsWith("tenant/", StringComparison.Ordinal), x.Scope));

        using var stream = silo.Alerts.WatchAlerts(new WatchAlertsRequest { AfterId = "0" }, As(silo.ViewerA, TimeSpan.FromSeconds(3)));
        var streamed = new List<Alert>();
        try
        {
            while (await stream.ResponseStream.MoveNext(CancellationToken.None)) streamed.Add(stream.ResponseStream.Current);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded)
        {
            // The replay is over.
        }
        Assert.Contains(streamed, x => x.Scope == "tenant/" + silo.TenantA);
        Assert.DoesNotContain(streamed, x => x.Scope == "tenant/" + silo.TenantB);
    }

    [Fact]
    public async Task OverRestTooAnAgentIsHeldToItsTenant()
    {
        var id = Build.NewRequestId();
        var reserve = $$"""{"requestId":"{{id}}","attribution":{"tenant":"{{silo.TenantA}}"},"estimateNanos":"5"}""";
        var mine = await silo.RestAsync(HttpMethod.Post, "reserve", silo.AgentA, reserve);
        var theirs = await silo.RestAsync(HttpMethod.Post, "reserve", silo.AgentB, reserve);
        var commit = await silo.RestAsync(HttpMethod.Post, "commit", silo.AgentB, $$"""{"reservationId":"{{id}}","actualNanos":"1"}""");
        var view = await silo.RestAsync(HttpMethod.Get, "budgets/tenant/" + silo.TenantB, silo.ViewerA);

        Assert.Equal(HttpStatusCode.OK, mine.Status);
        Assert.Equal(id, JsonParser.Default.Parse<ReserveResponse>(mine.Body).ReservationId);
        Assert.Equal(HttpStatusCode.Forbidden, theirs.Status);
        Assert.Equal(HttpStatusCode.NotFound, commit.Status);
        Assert.Equal(HttpStatusCode.Forbidden, view.Status);
    }
}
