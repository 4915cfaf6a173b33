using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>Meters over REST: the catalog routes, meter usage in the admission bodies, and the usage per meter.</summary>
[Collection(SiloCollection.Name)]
public sealed class RestMeterTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    /// <summary>Meter limits follow the proto in the budget routes: PATCH names meterLimits (mask from the body), a deny
    /// over REST names the meter, and an unknown meter in a limit is 409 naming it.</summary>
    [Fact]
    public async Task PatchSetsMeterLimitsAndADenyNamesTheMeter()
    {
        var name = Meters.Unique("rest_limit");
        var team = Build.UniqueKey("rest-meter-limit");
        await _rest.CallAsync<Meter>(HttpMethod.Put, "api/v1/meters/" + name, """{"unit": "second", "priceNanos": "1"}""");
        await silo.Management.SetBudgetAsync("team/" + team, 1_000_000);

        var patched = await _rest.CallAsync<BudgetStatus>(HttpMethod.Patch, "api/v1/budgets/team/" + team,
            $$"""{"meterLimits": [{"meter": "{{name}}", "maxQuantity": "5"}]}""");
        var denied = await _rest.CallAsync<ReserveResponse>(HttpMethod.Post, "api/v1/reserve",
            $$"""{"requestId": "{{Build.NewRequestId()}}", "attribution": {"team": "{{team}}"}, "estimateMeters": [{"meter": "{{name}}", "quantity": "6"}]}""");
        var unknown = await _rest.ErrorAsync(HttpMethod.Patch, "api/v1/budgets/team/" + team, 409, "FAILED_PRECONDITION",
            """{"meter_limits": [{"meter": "no_such_meter_here", "max_quantity": 1}]}""");

        Assert.Equal(1_000_000L, patched.LimitNanos);
        Assert.Equal([(name, 5L, 0L, 0L)], patched.Meters.Select(m => (m.Meter, m.MaxQuantity, m.UsedQuantity, m.HeldQuantity)));
        Assert.Equal((DenyReason.MeterLimit, "team/" + team, name, 5L), (denied.Reason, denied.DeniedScope, denied.DeniedMeter, denied.RemainingMeterQuantity));
        Assert.Contains("no_such_meter_here", unknown, StringComparison.Ordinal);
        Assert.Equal(patched.Meters, (await silo.Management.StatusAsync("team/" + team)).Meters);
    }

    [Fact]
    public async Task PutListUseAndDeleteAMeter()
    {
        var name = Meters.Unique("rest");
        var team = Build.UniqueKey("rest-meter");
        await silo.Management.SetBudgetAsync("team/" + team, 1_000_000);

        var put = await _rest.CallAsync<Meter>(HttpMethod.Put, "api/v1/meters/" + name, """{"unit": "query", "priceNanos": "3", "per_units": 2, "asOf": "2026-11-30"}""");
        var listed = await _rest.CallAsync<ListMetersResponse>(HttpMethod.Get, "api/v1/meters?name_prefix=" + name);
        var reserve = await _rest.CallAsync<ReserveResponse>(HttpMethod.Post, "api/v1/reserve",
            $$"""{"requestId": "{{Build.NewRequestId()}}", "attribution": {"team": "{{team}}"}, "estimateMeters": [{"meter": "{{name}}", "quantity": "5"}]}""");
        var check = await _rest.CallAsync<CheckResponse>(HttpMethod.Post, "api/v1/check",
            $$"""{"attribution": {"team": "{{team}}"}, "estimate_meters": [{"meter": "{{name}}", "quantity": 1}]}""");
        var commit = await _rest.CallAsync<CommitResponse>(HttpMethod.Post, "api/v1/commit",
            $$"""{"reservationId": "{{reserve.ReservationId}}", "meters": [{"meter": "{{name}}", "quantity": "3"}]}""");
        var usage = await _rest.CallAsync<MeterUsageReport>(HttpMethod.Get, "api/v1/meter-usage/team/" + team);
        var deleted = await _rest.CallAsync<DeleteMeterResponse>(HttpMethod.Delete, "api/v1/meters/" + name);

        Assert.Equal(new Meter { Name = name, Unit = "query", PriceNanos = 3, PerUnits = 2, AsOf = "2026-11-30" }, put);
        Assert.Equal([put], listed.Meters);
        Assert.Equal((Decision.Admitted, 8L), (reserve.Decision, reserve.HeldNanos));
        Assert.Equal(Decision.Admitted, check.Decision);
        Assert.Equal(5L, commit.ChargedNanos);
        Assert.Equal(("team/" + team, name, 3L, 5L), (usage.Scope, usage.Rows.Single().Meter, usage.Rows.Single().Quantity, usage.Rows.Single().SpentNanos));
        Assert.True(deleted.Deleted);
    }

    [Fact]
    public async Task AnUnknownMeterIsA409FailedPreconditionAndAnImportIsAllOrNone()
    {
        var prefix = Meters.Unique("rest_import");
        var team = Build.UniqueKey("rest-unknown");

        var unknown = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/reserve", 409, "FAILED_PRECONDITION",
            $$"""{"requestId": "{{Build.NewRequestId()}}", "attribution": {"team": "{{team}}"}, "estimateMeters": [{"meter": "{{prefix}}", "quantity": 1}]}""");
        var refused = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/meters", 400, "INVALID_ARGUMENT",
            $$"""{"meters": [{"name": "{{prefix}}_a", "unit": "call"}, {"name": "{{prefix}}_b", "unit": "call", "priceNanos": -1}]}""");
        var imported = await _rest.CallAsync<ImportMetersResponse>(HttpMethod.Post, "api/v1/meters",
            $$"""{"meters": [{"name": "{{prefix}}_a", "unit": "call"}]}""");

        Assert.Contains($"meter '{prefix}' is not in the meter catalog", unknown, StringComparison.Ordinal);
        Assert.StartsWith($"meters[1] {prefix}_b: price_nanos is -1", refused, StringComparison.Ordinal);
        Assert.Equal(new ImportMetersResponse { Imported = 1, Added = 1 }, imported);
    }

    public void Dispose() => _rest.Dispose();
}
