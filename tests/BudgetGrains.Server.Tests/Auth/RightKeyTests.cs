using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Auth;
using Google.Protobuf;
using Grpc.Core;
using static BudgetGrains.Server.Tests.Auth.AuthFixture;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>Every rpc with a well-formed request and each key its rule allows: it works (OK; a stream stays open until
/// the deadline). The table must name every rpc, so a new rpc needs a line here too.</summary>
[Collection(AuthCollection.Name)]
public sealed class RightKeyTests(AuthFixture silo)
{
    private Attribution OfA => new() { Tenant = silo.TenantA, Feature = Build.UniqueKey("right") };

    /// <summary>A valid request for each rpc, made for the key that will send it (reservations it commits are its own).</summary>
    private Dictionary<string, Func<string, Task<IMessage>>> Requests => new()
    {
        ["Reserve"] = _ => Task.FromResult<IMessage>(Build.Reserve(OfA, 10)),
        ["Commit"] = async key => new CommitRequest { ReservationId = await ReserveAsync(key), ActualNanos = 5 },
        ["Release"] = async key => new ReleaseRequest { ReservationId = await ReserveAsync(key) },
        ["Check"] = _ => Task.FromResult<IMessage>(new CheckRequest { Attribution = OfA, EstimateNanos = 1 }),
        ["WatchBudgets"] = _ => Task.FromResult<IMessage>(new WatchBudgetsRequest { Attribution = OfA }),
        ["UpsertBudget"] = _ => Task.FromResult<IMessage>(new UpsertBudgetRequest { Scope = Team(), LimitNanos = 100 }),
        ["GetBudget"] = _ => Task.FromResult<IMessage>(new GetBudgetRequest { Scope = "tenant/" + silo.TenantA }),
        ["ListBudgets"] = _ => Task.FromResult<IMessage>(new ListBudgetsRequest()),
        ["SetTaskPolicy"] = _ => Task.FromResult<IMessage>(new SetTaskPolicyRequest { Scope = "agent/" + Build.UniqueKey("p"), Policy = new TaskPolicy { MaxDepth = new Limit { Value = 2 } } }),
        ["GetTaskPolicy"] = _ => Task.FromResult<IMessage>(new GetTaskPolicyRequest { Scope = $"task/{silo.TenantA}/t" }),
        ["EndTask"] = _ => Task.FromResult<IMessage>(new EndTaskRequest { Scope = $"task/{silo.TenantA}/{Build.UniqueKey("t")}" }),
        ["DeleteBudget"] = _ => Task.FromResult<IMessage>(new DeleteBudgetRequest { Scope = Team() }),
        ["FreezeBudget"] = async _ => new FreezeBudgetRequest { Scope = await BudgetAsync() },
        ["UnfreezeBudget"] = async _ => new FreezeBudgetRequest { Scope = await BudgetAsync() },
        ["ResetBudget"] = async _ => new ResetBudgetRequest { Scope = await BudgetAsync() },
        ["ListPeriods"] = _ => Task.FromResult<IMessage>(new ListPeriodsRequest { Scope = "tenant/" + silo.TenantA }),
        ["GetUsage"] = _ => Task.FromResult<IMessage>(new GetUsageRequest { Scope = "tenant/" + silo.TenantA }),
        ["ListAlerts"] = _ => Task.FromResult<IMessage>(new ListAlertsRequest()),
        ["AckAlert"] = async _ => new AckAlertRequest { Id = await AlertAsync() },
        ["UpsertPrice"] = _ => Task.FromResult<IMessage>(new UpsertPriceRequest { Price = new ModelPrice { Model = Build.UniqueKey("m"), InputNanosPerToken = 1, OutputNanosPerToken = 2 } }),
        ["ListPrices"] = _ => Task.FromResult<IMessage>(new ListPricesRequest()),
        ["DeletePrice"] = _ => Task.FromResult<IMessage>(new DeletePriceRequest { Model = Build.UniqueKey("m") }),
        ["ImportPrices"] = _ => Task.FromResult<IMessage>(new ImportPricesRequest { Prices = { new ModelPrice { Model = Build.UniqueKey("m"), InputNanosPerToken = 1, OutputNanosPerToken = 2 } } }),
        ["CreateApiKey"] = _ => Task.FromResult<IMessage>(new CreateApiKeyRequest { Role = "viewer" }),
        ["ListApiKeys"] = _ => Task.FromResult<IMessage>(new ListApiKeysRequest()),
        ["RevokeApiKey"] = async _ => new RevokeApiKeyRequest { Id = (await silo.Management.CreateApiKeyAsync(new CreateApiKeyRequest { Role = "viewer" }, As(silo.AdminKey))).ApiKey.Id },
        ["ListAudit"] = _ => Task.FromResult<IMessage>(new ListAuditRequest()),
        ["SetTenantSettings"] = _ => Task.FromResult<IMessage>(new SetTenantSettingsRequest { Tenant = silo.TenantA, UnknownScopes = UnknownScopes.Open }),
        ["GetTenantSettings"] = _ => Task.FromResult<IMessage>(new GetTenantSettingsRequest { Tenant = silo.TenantA }),
        ["WatchAlerts"] = _ => Task.FromResult<IMessage>(new WatchAlertsRequest()),
        ["ExportLedger"] = _ => Task.FromResult<IMessage>(new ExportLedgerRequest { Format = "csv" }),
        ["ExportUsage"] = _ => Task.FromResult<IMessage>(new ExportUsageRequest { Format = "jsonl" }),
        ["ImportBill"] = _ => Task.FromResult<IMessage>(new ImportBillRequest { ImportId = Build.UniqueKey("bill"), Format = "focus",
            Content = "BilledCost,BillingCurrency,ChargePeriodStart,ProviderName\r\n1,USD,2026-11-02T00:00:00Z,right-key\r\n" }),
        ["GetReconciliation"] = _ => Task.FromResult<IMessage>(new GetReconciliationRequest { FromUnixMs = 1_793_577_600_000, Provider = "right-key" }),
        ["ImportSharedCosts"] = _ => Task.FromResult<IMessage>(new ImportSharedCostsRequest { Costs = { new SharedCost { Pool = Build.UniqueKey("pool"),
            PeriodStartUnixMs = 1_793_491_200_000, PeriodEndUnixMs = 1_796_083_200_000, AmountNanos = 1, Driver = "calls", Dimension = "tenant" } } }),
        ["GetAllocation"] = _ => Task.FromResult<IMessage>(new GetAllocationRequest { Dimension = "tenant", FromUnixMs = 1_793_491_200_000, ToUnixMs = 1_796_083_200_000 }),
        ["UpsertMeter"] = _ => Task.FromResult<IMessage>(new UpsertMeterRequest { Meter = Meters.Of(Meters.Unique("key"), 1) }),
        ["ListMeters"] = _ => Task.FromResult<IMessage>(new ListMetersRequest()),
        ["DeleteMeter"] = _ => Task.FromResult<IMessage>(new DeleteMeterRequest { Name = Meters.Unique("key") }),
        ["ImportMeters"] = _ => Task.FromResult<IMessage>(new ImportMetersRequest { Meters = { Meters.Of(Meters.Unique("key"), 1) } }),
        ["GetMeterUsage"] = _ => Task.FromResult<IMessage>(new GetMeterUsageRequest { Scope = "tenant/" + silo.TenantA }),
        // Task reports name the tenant, so that a tenant's viewer may read them.
        ["GetCostPerOutcome"] = _ => Task.FromResult<IMessage>(new GetCostPerOutcomeRequest { GroupBy = "feature", Tenant = silo.TenantA }),
        ["StartJob"] = _ => Task.FromResult<IMessage>(new StartJobRequest { Tenant = silo.TenantA, Job = Build.UniqueKey("job"), EstimateNanos = 10, CapNanos = 20 }),
        ["GetJobReport"] = _ => Task.FromResult<IMessage>(new GetJobReportRequest { Tenant = silo.TenantA }),
    };

    /// <summary>Exports, reconciliations and allocations span every tenant: a viewer of one tenant is refused them (DashboardAccessTests), as the reports.</summary>
    private static bool SpansEveryTenant(string rpc) => rpc.StartsWith("Export", StringComparison.Ordinal) || rpc is "GetReconciliation" or "GetAllocation";

    private static string Team() => "team/" + Build.UniqueKey("right");

    private async Task<string> ReserveAsync(string key) => (await silo.Admission.ReserveAsync(Build.Reserve(OfA, 10), As(key))).ReservationId;

    private async Task<string> BudgetAsync()
    {
        var scope = Team();
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 100 }, As(silo.AdminKey));
        return scope;
    }

    private async Task<string> AlertAsync()
    {
        var tenant = Build.UniqueKey("alerting");
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "tenant/" + tenant, LimitNanos = 100, ThresholdPercents = { 10 } }, As(silo.AdminKey));
        var hold = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant }, 50), As(silo.AdminKey));
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = hold.ReservationId, ActualNanos = 50 }, As(silo.AdminKey));
        Alert? alert = null;
        Assert.True(await Build.EventuallyAsync(async () => (alert = (await silo.Management.ListAlertsAsync(
            new ListAlertsRequest { ScopePrefix = "tenant/" + tenant }, As(silo.AdminKey))).Alerts.FirstOrDefault()) is not null, TimeSpan.FromSeconds(30)));
        return alert!.Id;
    }

    [Fact]
    public void TheTableNamesEveryRpc() =>
        Assert.Equal(AllRpcs.Select(m => m.Name).Order(), Requests.Keys.Order());

    [Theory]
    [MemberData(nameof(AccessMatrixTests.Rpcs), MemberType = typeof(AccessMatrixTests))]
    public async Task WithTheRightKeyEveryRpcWorks(string fullName)
    {
        var rpc = AllRpcs.Single(m => m.FullName == fullName);
        var kind = AccessRules.For(AccessRules.Method(rpc.Service.FullName, rpc.Name))!.Value;
        var keys = new List<string> { silo.AdminKey };
        if (AccessRules.Allows(kind, ApiKeyRoles.Agent)) keys.Add(silo.AgentA);
        if (AccessRules.Allows(kind, ApiKeyRoles.Viewer)) keys.AddRange(SpansEveryTenant(rpc.Name) ? [silo.Viewer] : [silo.Viewer, silo.ViewerA]);
        // The watch streams run until the deadline; an export ends when the file is sent.
        var endless = rpc.IsServerStreaming && !rpc.Name.StartsWith("Export", StringComparison.Ordinal);

        foreach (var key in keys)
        {
            var request = await Requests[rpc.Name](key);
            var status = await silo.CallRawAsync(rpc, key, request);
            Assert.True(status == (endless ? StatusCode.DeadlineExceeded : StatusCode.OK), $"{rpc.Name} with {key[..8]}…: {status}");
        }
    }
}
