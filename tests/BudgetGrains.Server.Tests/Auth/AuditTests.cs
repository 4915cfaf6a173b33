using System.Net;
using BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Tests.Auth.AuthFixture;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>Every management change leaves one audit entry: key id, rpc, target, request, before, after, when, from where.</summary>
[Collection(AuthCollection.Name)]
public sealed class AuditTests(AuthFixture silo)
{
    private async Task<AuditEntry> LastAsync(string target)
    {
        var page = await silo.Management.ListAuditAsync(new ListAuditRequest { TargetPrefix = target, PageSize = 1 }, As(silo.AdminKey));
        return Assert.Single(page.Entries);
    }

    [Fact]
    public async Task EachBudgetChangeIsAuditedWithBeforeAndAfter()
    {
        var scope = "team/" + Build.UniqueKey("audit");
        var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var admin = As(silo.AdminKey);

        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 1_000 }, admin);
        var created = await LastAsync(scope);
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 2_000 }, admin);
        var changed = await LastAsync(scope);

        Assert.Equal(("UpsertBudget", "bootstrap", scope, "127.0.0.1"), (created.Rpc, created.KeyId, created.Target, created.Peer));
        Assert.True(created.AtUnixMs >= started);
        Assert.Contains("\"limitNanos\": \"0\"", created.BeforeJson, StringComparison.Ordinal);
        Assert.Contains("\"limitNanos\": \"1000\"", created.AfterJson, StringComparison.Ordinal);
        Assert.Contains("\"limitNanos\": \"1000\"", changed.BeforeJson, StringComparison.Ordinal);
        Assert.Contains("\"limitNanos\": \"2000\"", changed.AfterJson, StringComparison.Ordinal);
        Assert.Contains("\"limitNanos\": \"2000\"", changed.RequestJson, StringComparison.Ordinal);
        Assert.True(changed.Sequence > created.Sequence);

        await silo.Management.FreezeBudgetAsync(new FreezeBudgetRequest { Scope = scope }, admin);
        var frozen = await LastAsync(scope);
        Assert.Equal("FreezeBudget", frozen.Rpc);
        Assert.Contains("\"frozen\": false", frozen.BeforeJson, StringComparison.Ordinal);
        Assert.Contains("\"frozen\": true", frozen.AfterJson, StringComparison.Ordinal);

        await silo.Management.UnfreezeBudgetAsync(new FreezeBudgetRequest { Scope = scope }, admin);
        Assert.Equal("UnfreezeBudget", (await LastAsync(scope)).Rpc);
        await silo.Management.ResetBudgetAsync(new ResetBudgetRequest { Scope = scope }, admin);
        Assert.Equal("ResetBudget", (await LastAsync(scope)).Rpc);
        await silo.Management.SetTaskPolicyAsync(new SetTaskPolicyRequest { Scope = "agent/" + scope[5..], Policy = new TaskPolicy { MaxDepth = new Limit { Value = 3 } } }, admin);
        var policy = await LastAsync("agent/" + scope[5..]);
        Assert.Equal("SetTaskPolicy", policy.Rpc);
        Assert.Contains("maxDepth", policy.AfterJson, StringComparison.Ordinal);
        await silo.Management.EndTaskAsync(new EndTaskRequest { Scope = $"task/{silo.TenantA}/{scope[5..]}" }, admin);
        Assert.Equal("EndTask", (await LastAsync($"task/{silo.TenantA}/{scope[5..]}")).Rpc);
        await silo.Management.DeleteBudgetAsync(new DeleteBudgetRequest { Scope = scope }, admin);
        var deleted = await LastAsync(scope);
        Assert.Equal("DeleteBudget", deleted.Rpc);
        Assert.Contains("\"limitNanos\": \"2000\"", deleted.BeforeJson, StringComparison.Ordinal);
        Assert.Contains("\"deleted\": true", deleted.AfterJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MeterChangesAreAuditedWithTheMeterBeforeAndAfter()
    {
        var name = Meters.Unique("audit");
        var admin = As(silo.AdminKey);
        await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(name, 5) }, admin);
        await silo.Management.ImportMetersAsync(new ImportMetersRequest { Meters = { Meters.Of(name, 6) } }, admin);
        await silo.Management.DeleteMeterAsync(new DeleteMeterRequest { Name = name }, admin);

        var entries = (await silo.Management.ListAuditAsync(new ListAuditRequest { PageSize = 1000 }, admin)).Entries
            .Where(e => e.RequestJson.Contains(name, StringComparison.Ordinal)).ToList();
        Assert.Equal(["DeleteMeter", "ImportMeters", "UpsertMeter"], entries.Select(e => e.Rpc));
        Assert.Equal(["meters/" + name, "", "meters/" + name], entries.Select(e => e.Target));
        Assert.Contains("\"priceNanos\": \"6\"", entries[0].BeforeJson, StringComparison.Ordinal);
        Assert.Contains("\"deleted\": true", entries[0].AfterJson, StringComparison.Ordinal);
        Assert.Contains("\"priceNanos\": \"5\"", entries[1].BeforeJson, StringComparison.Ordinal);
        Assert.Equal("", entries[2].BeforeJson);
        Assert.Contains("\"priceNanos\": \"5\"", entries[2].AfterJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PriceChangesAndAcksAreAuditedAndPagingWalksTheLogNewestFirst()
    {
        var model = Build.UniqueKey("audit-model");
        var admin = As(silo.AdminKey);
        await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = new ModelPrice { Model = model, InputNanosPerToken = 5, OutputNanosPerToken = 9 } }, admin);
        await silo.Management.ImportPricesAsync(new ImportPricesRequest { Prices = { new ModelPrice { Model = model, InputNanosPerToken = 6, OutputNanosPerToken = 9 } } }, admin);
        await silo.Management.DeletePriceAsync(new DeletePriceRequest { Model = model }, admin);

        var upsert = await LastAsync(model);
        Assert.Equal("DeletePrice", upsert.Rpc);
        Assert.Contains("\"inputNanosPerToken\": \"6\"", upsert.BeforeJson, StringComparison.Ordinal);
        var entries = (await silo.Management.ListAuditAsync(new ListAuditRequest { PageSize = 1000 }, admin)).Entries;
        var import = entries.First(e => e.Rpc == "ImportPrices" && e.RequestJson.Contains(model, StringComparison.Ordinal));
        Assert.Contains("\"inputNanosPerToken\": \"5\"", import.BeforeJson, StringComparison.Ordinal);
        Assert.Contains("\"imported\": 1", import.AfterJson, StringComparison.Ordinal);
        var created = entries.First(e => e.Rpc == "UpsertPrice" && e.Target == model);
        Assert.Equal("", created.BeforeJson);
        Assert.Contains("\"inputNanosPerToken\": \"5\"", created.AfterJson, StringComparison.Ordinal);

        // An alert acknowledged: the ack is audited under the alert's id.
        var tenant = "tenant/" + Build.UniqueKey("ack");
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = tenant, LimitNanos = 100, ThresholdPercents = { 50 } }, admin);
        var hold = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant[7..] }, 60), admin);
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = hold.ReservationId, ActualNanos = 60 }, admin);
        Alert? alert = null;
        Assert.True(await Build.EventuallyAsync(async () =>
            (alert = (await silo.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = tenant }, admin)).Alerts.FirstOrDefault()) is not null, TimeSpan.FromSeconds(30)));
        await silo.Management.AckAlertAsync(new AckAlertRequest { Id = alert!.Id, By = "oncall" }, admin);
        var ack = await LastAsync(alert.Id);
        Assert.Equal("AckAlert", ack.Rpc);
        Assert.Contains("\"acknowledged\": true", ack.AfterJson, StringComparison.Ordinal);

        // Paging: two at a time, strictly newest first, no entry twice.
        var first = await silo.Management.ListAuditAsync(new ListAuditRequest { PageSize = 2 }, admin);
        var second = await silo.Management.ListAuditAsync(new ListAuditRequest { PageSize = 2, PageToken = first.NextPageToken }, admin);
        var sequences = first.Entries.Concat(second.Entries).Select(e => e.Sequence).ToList();
        Assert.Equal(4, sequences.Count);
        Assert.Equal(sequences.OrderByDescending(s => s), sequences);
        var badToken = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => silo.Management.ListAuditAsync(new ListAuditRequest { PageToken = "bm90LWEtbnVtYmVy" }, admin).ResponseAsync);
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, badToken.StatusCode);
    }

    [Fact]
    public async Task RestListsTheAuditLogAndMakesKeysWithTheSecretOnce()
    {
        var created = await silo.RestAsync(HttpMethod.Post, "keys", silo.AdminKey, """{"role":"viewer","name":"rest"}""");
        Assert.Equal(HttpStatusCode.OK, created.Status);
        var response = Google.Protobuf.JsonParser.Default.Parse<CreateApiKeyResponse>(created.Body);
        Assert.StartsWith("bgk_", response.Key, StringComparison.Ordinal);

        var audit = await silo.RestAsync(HttpMethod.Get, "audit?target_prefix=" + response.ApiKey.Id, silo.AdminKey);
        Assert.Equal(HttpStatusCode.OK, audit.Status);
        Assert.Contains("CreateApiKey", audit.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(response.Key, audit.Body, StringComparison.Ordinal);

        var revoked = await silo.RestAsync(HttpMethod.Delete, "keys/" + response.ApiKey.Id, silo.AdminKey);
        Assert.Equal(HttpStatusCode.OK, revoked.Status);
        var listed = await silo.RestAsync(HttpMethod.Get, "keys", response.Key);
        Assert.Equal(HttpStatusCode.Unauthorized, listed.Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await silo.RestAsync(HttpMethod.Get, "audit", silo.Viewer)).Status);
    }
}
