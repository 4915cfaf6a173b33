using System.Globalization;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests.Rest;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Control;

/// <summary>
/// An update changes only the fields it names (docs/decisions/0021): for each budget field, an update naming another
/// field leaves it alone, over gRPC with an update mask, over gRPC as an old client sends it (no mask: the fields with a
/// value), and over REST PATCH and PUT.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class PartialUpdateTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    public void Dispose() => _rest.Dispose();

    /// <summary>The fields and a new value for each, as a gRPC request and as a JSON body.</summary>
    public static TheoryData<string> Fields => new()
    {
        "limit_nanos", "period", "threshold_percents", "parent", "frozen", "currency", "requests_per_minute", "tokens_per_minute",
    };

    /// <summary>Every field set away from its default (parent without a budget of its own, so any currency fits).</summary>
    private async Task<(string Scope, BudgetStatus Before)> FullBudgetAsync(string name)
    {
        var key = Build.UniqueKey(name);
        var request = new UpsertBudgetRequest
        {
            Scope = "team/" + key, LimitNanos = 30_000_000_000, Period = Period.Month, Parent = "cost_center/" + key, Frozen = true,
            Currency = "EUR", RequestsPerMinute = 600, TokensPerMinute = 2_000_000,
        };
        request.ThresholdPercents.AddRange([40, 90]);
        return (request.Scope, await silo.Management.UpsertBudgetAsync(request));
    }

    /// <summary>The request that changes only <paramref name="field"/>, with or without the mask.</summary>
    private static UpsertBudgetRequest Change(string scope, string field, bool mask)
    {
        var r = new UpsertBudgetRequest { Scope = scope };
        switch (field)
        {
            case "limit_nanos": r.LimitNanos = 25_000_000_000; break;
            case "period": r.Period = Period.Day; break;
            case "threshold_percents": r.ThresholdPercents.Add(70); break;
            case "parent": r.Parent = "cost_center/other-" + scope[5..]; break;
            case "frozen": r.Frozen = false; break;
            case "currency": r.Currency = "JPY"; break;
            case "requests_per_minute": r.RequestsPerMinute = 700; break;
            case "tokens_per_minute": r.TokensPerMinute = 3_000_000; break;
        }
        if (mask) r.UpdateMask = new FieldMask { Paths = { field } };
        return r;
    }

    /// <summary>The JSON body that changes only <paramref name="field"/>.</summary>
    private static string Body(string scope, string field) => field switch
    {
        "limit_nanos" => """{"limitNanos": "25000000000"}""",
        "period" => """{"period": "DAY"}""",
        "threshold_percents" => """{"thresholdPercents": [70]}""",
        "parent" => $$"""{"parent": "cost_center/other-{{scope[5..]}}"}""",
        "frozen" => """{"frozen": false}""",
        "currency" => """{"currency": "JPY"}""",
        "requests_per_minute" => """{"requestsPerMinute": 700}""",
        "tokens_per_minute" => """{"tokensPerMinute": "3000000"}""",
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    /// <summary>The budget fields of a status, with <paramref name="field"/> as <see cref="Change"/> sets it.</summary>
    private static string Expected(BudgetStatus before, string field)
    {
        var expected = before.Clone();
        var change = Change(before.Scope, field, mask: false);
        switch (field)
        {
            case "limit_nanos": expected.LimitNanos = change.LimitNanos; break;
            case "period": expected.Period = change.Period; break;
            case "threshold_percents": expected.ThresholdPercents.Clear(); expected.ThresholdPercents.AddRange(change.ThresholdPercents); break;
            case "parent": expected.Parent = change.Parent; break;
            case "frozen": expected.Frozen = false; break;
            case "currency": expected.Currency = change.Currency; break;
            case "requests_per_minute": expected.RequestsPerMinute = change.RequestsPerMinute; break;
            case "tokens_per_minute": expected.TokensPerMinute = change.TokensPerMinute; break;
        }
        return Fingerprint(expected);
    }

    private static string Fingerprint(BudgetStatus s) => string.Join(" | ", s.LimitNanos.ToString(CultureInfo.InvariantCulture), s.Period,
        string.Join(",", s.ThresholdPercents), s.Parent, s.Frozen, s.Currency, s.RequestsPerMinute, s.TokensPerMinute);

    [Theory]
    [MemberData(nameof(Fields))]
    public async Task GrpcWithAnUpdateMaskChangesOnlyTheNamedField(string field)
    {
        var (scope, before) = await FullBudgetAsync("mask");

        var after = await silo.Management.UpsertBudgetAsync(Change(scope, field, mask: true));

        Assert.Equal(Expected(before, field), Fingerprint(after));
        Assert.Equal(Fingerprint(after), Fingerprint(await silo.Management.StatusAsync(scope)));
    }

    [Theory]
    [MemberData(nameof(Fields))]
    public async Task GrpcWithoutAMaskChangesOnlyTheFieldsGivenAValue(string field)
    {
        // An old client cannot name a field at its default value; frozen=false without a mask changes nothing.
        var (scope, before) = await FullBudgetAsync("nomask");

        var after = await silo.Management.UpsertBudgetAsync(Change(scope, field, mask: false));

        Assert.Equal(field == "frozen" ? Fingerprint(before) : Expected(before, field), Fingerprint(after));
    }

    [Theory]
    [MemberData(nameof(Fields))]
    public async Task RestPatchChangesOnlyTheFieldsOfTheBody(string field)
    {
        var (scope, before) = await FullBudgetAsync("patch");

        var after = await _rest.CallAsync<BudgetStatus>(HttpMethod.Patch, "api/v1/budgets/" + scope, Body(scope, field));

        Assert.Equal(Expected(before, field), Fingerprint(after));
    }

    [Fact]
    public async Task RestPutOfTheLimitKeepsParentPeriodAndKillSwitch()
    {
        // The report: PUT {"limitNanos"} cleared the parent, the period and the kill switch.
        var (scope, before) = await FullBudgetAsync("put");

        var after = await _rest.CallAsync<BudgetStatus>(HttpMethod.Put, "api/v1/budgets/" + scope, """{"limitNanos":"30000000000"}""");

        Assert.Equal(Fingerprint(before), Fingerprint(after));
        Assert.True(after.Frozen);
    }

    [Fact]
    public async Task RestPatchNamingDefaultsClearsThem()
    {
        var (scope, _) = await FullBudgetAsync("clear");

        var after = await _rest.CallAsync<BudgetStatus>(HttpMethod.Patch, "api/v1/budgets/" + scope,
            """{"parent": "", "frozen": false, "limitNanos": 0, "thresholdPercents": [], "requestsPerMinute": 0}""");

        Assert.Equal(("", false, 0L, 0L), (after.Parent, after.Frozen, after.LimitNanos, after.RequestsPerMinute));
        Assert.Equal([50, 80, 100], after.ThresholdPercents);
        Assert.Equal((Period.Month, "EUR", 2_000_000L), (after.Period, after.Currency, after.TokensPerMinute));
    }

    [Fact]
    public async Task AFullMaskReplacesEverything()
    {
        var (scope, _) = await FullBudgetAsync("star");

        var after = await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 5, UpdateMask = new FieldMask { Paths = { "*" } } });

        Assert.Equal("5 | None | 50,80,100 |  | False | USD | 0 | 0", Fingerprint(after));
    }

    [Fact]
    public async Task CreatingWithOneFieldAppliesTheDefaultsToTheRest()
    {
        var scope = "team/" + Build.UniqueKey("create");

        var grpc = await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, RequestsPerMinute = 60, UpdateMask = new FieldMask { Paths = { "requests_per_minute" } } });
        var rest = await _rest.CallAsync<BudgetStatus>(HttpMethod.Patch, "api/v1/budgets/" + scope + "-rest", """{"limitNanos": "7"}""");

        Assert.Equal("0 | None | 50,80,100 |  | False | USD | 60 | 0", Fingerprint(grpc));
        Assert.Equal("7 | None | 50,80,100 |  | False | USD | 0 | 0", Fingerprint(rest));
    }

    [Fact]
    public async Task AMaskThatNamesAnUnknownFieldOrLeavesOutAGivenValueIsRefusedAndChangesNothing()
    {
        var (scope, before) = await FullBudgetAsync("badmask");

        var unknown = await Assert.ThrowsAsync<RpcException>(() => silo.Management.UpsertBudgetAsync(
            new UpsertBudgetRequest { Scope = scope, UpdateMask = new FieldMask { Paths = { "limit" } } }).ResponseAsync);
        var stray = await Assert.ThrowsAsync<RpcException>(() => silo.Management.UpsertBudgetAsync(
            new UpsertBudgetRequest { Scope = scope, LimitNanos = 1, Parent = "team/x", UpdateMask = new FieldMask { Paths = { "limit_nanos" } } }).ResponseAsync);
        var patchWithMask = await _rest.ErrorAsync(HttpMethod.Patch, "api/v1/budgets/" + scope, 400, "INVALID_ARGUMENT", """{"updateMask": "parent"}""");

        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Contains("'limit'", unknown.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, stray.StatusCode);
        Assert.Contains("parent has a value but is not in update_mask", stray.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("updateMask", patchWithMask, StringComparison.Ordinal);
        Assert.Equal(Fingerprint(before), Fingerprint(await silo.Management.StatusAsync(scope)));
    }
}
