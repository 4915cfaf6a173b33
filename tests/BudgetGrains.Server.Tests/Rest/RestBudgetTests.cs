using System.Text.Json;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>
/// Budgets over REST: PUT/GET/list reach the same handlers as gRPC (what one writes the other reads), and bad input
/// gets the one error body and changes nothing.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class RestBudgetTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    [Fact]
    public async Task PutCreatesTheBudgetThatGrpcReadsAndGetReturnsItInProtoJson()
    {
        var team = "team/" + Build.UniqueKey("rest-put");
        await silo.Management.SetBudgetAsync("cost_center/" + Build.UniqueKey("rest-cc"), 1);

        var put = await _rest.CallAsync<BudgetStatus>(HttpMethod.Put, "api/v1/budgets/" + team,
            """{"limit_nanos": "25000000000", "thresholdPercents": [50, 90], "currency": "EUR", "requestsPerMinute": 600, "period": "MONTH"}""");
        var viaGrpc = await silo.Management.StatusAsync(team);
        using var get = await _rest.SendAsync(HttpMethod.Get, "api/v1/budgets/" + team);
        var json = JsonDocument.Parse(await get.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal((team, 25_000_000_000L, "EUR", 600L), (put.Scope, put.LimitNanos, put.Currency, put.RequestsPerMinute));
        Assert.Equal([50, 90], put.ThresholdPercents);
        Assert.Equal(put, viaGrpc);
        // proto3 JSON: int64 as strings, enums by name, camelCase names, default values written too.
        Assert.Equal("25000000000", json.GetProperty("limitNanos").GetString());
        Assert.Equal("MONTH", json.GetProperty("period").GetString());
        Assert.Equal(put.PeriodEndUnixMs.ToString(System.Globalization.CultureInfo.InvariantCulture), json.GetProperty("periodEndUnixMs").GetString());
        Assert.False(json.GetProperty("frozen").GetBoolean());
        Assert.Equal("0", json.GetProperty("spentNanos").GetString());
    }

    [Fact]
    public async Task GetOfAScopeWrittenOverGrpcShowsItsCounters()
    {
        var tenant = Build.UniqueKey("rest-get");
        await silo.Management.SetBudgetAsync("tenant/" + tenant, 1_000);
        await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant }, 300));

        var status = await _rest.CallAsync<BudgetStatus>(HttpMethod.Get, $"api/v1/budgets/tenant/{tenant}");

        Assert.Equal((1_000L, 300L, 1), (status.LimitNanos, status.HeldNanos, status.OpenHolds));
    }

    [Fact]
    public async Task ListPagesThroughEveryBudgetOfAPrefixInScopeOrder()
    {
        var prefix = "team/" + Build.UniqueKey("rest-list") + "-";
        var scopes = Enumerable.Range(0, 7).Select(i => $"{prefix}{i:D2}").ToList();
        foreach (var scope in scopes) await silo.Management.SetBudgetAsync(scope, 10);

        var seen = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await _rest.CallAsync<ListBudgetsResponse>(HttpMethod.Get,
                $"api/v1/budgets?scope_prefix={Uri.EscapeDataString(prefix)}&pageSize=3&page_token={Uri.EscapeDataString(token)}");
            Assert.True(page.Budgets.Count <= 3);
            seen.AddRange(page.Budgets.Select(b => b.Scope));
            token = page.NextPageToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(scopes, seen);
        Assert.Equal(3, pages);
        var all = await _rest.CallAsync<ListBudgetsResponse>(HttpMethod.Get, $"api/v1/budgets?scopePrefix={Uri.EscapeDataString(prefix)}");
        Assert.Equal(scopes, all.Budgets.Select(b => b.Scope));
        Assert.Equal("", all.NextPageToken);
    }

    [Fact]
    public async Task ListRejectsBadPagingWithTheHandlersMessage()
    {
        var tooBig = await _rest.ErrorAsync(HttpMethod.Get, "api/v1/budgets?page_size=1001", 400, "INVALID_ARGUMENT");
        var badToken = await _rest.ErrorAsync(HttpMethod.Get, "api/v1/budgets?page_token=%25%25", 400, "INVALID_ARGUMENT");
        var notANumber = await _rest.ErrorAsync(HttpMethod.Get, "api/v1/budgets?page_size=ten", 400, "INVALID_ARGUMENT");
        var twice = await _rest.ErrorAsync(HttpMethod.Get, "api/v1/budgets?page_size=1&page_size=2", 400, "INVALID_ARGUMENT");
        var unknown = await _rest.ErrorAsync(HttpMethod.Get, "api/v1/budgets?prefix=team/", 400, "INVALID_ARGUMENT");

        Assert.Contains("page_size must be between 0 and 1000", tooBig);
        Assert.Contains("page_token is not one this server gave out", badToken);
        Assert.Equal("query parameter 'page_size' is 'ten', not an integer", notANumber);
        Assert.Contains("'page_size' is given 2 times", twice);
        Assert.Equal("unknown query parameter 'prefix'; ListBudgets takes scope_prefix, page_size, page_token", unknown);
    }

    [Fact]
    public async Task BadBudgetsAreRefusedWithTheHandlersStatusAndNothingChanges()
    {
        var team = "team/" + Build.UniqueKey("rest-bad");
        await silo.Management.SetBudgetAsync(team, 500);

        var invalidScope = await _rest.ErrorAsync(HttpMethod.Get, "api/v1/budgets/nonsense", 400, "INVALID_ARGUMENT");
        var negative = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/budgets/" + team, 400, "INVALID_ARGUMENT", """{"limitNanos": -1}""");
        var selfParent = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/budgets/" + team, 400, "INVALID_ARGUMENT", $$"""{"parent": "{{team}}"}""");
        var threshold = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/budgets/" + team, 400, "INVALID_ARGUMENT", """{"thresholdPercents": [0]}""");

        Assert.Equal("scope 'nonsense' is not of the form kind/key (e.g. team/search)", invalidScope);
        Assert.Contains("limit_nanos must be between 0", negative);
        Assert.Contains("cannot be its own parent", selfParent);
        Assert.Contains("threshold", threshold);
        Assert.Equal(500, (await silo.Management.StatusAsync(team)).LimitNanos);
    }

    [Fact]
    public async Task TyposWrongTypesAndMalformedJsonAreErrorsNotIgnored()
    {
        var team = "team/" + Build.UniqueKey("rest-json");
        await silo.Management.SetBudgetAsync(team, 500);
        var path = "api/v1/budgets/" + team;

        var typo = await _rest.ErrorAsync(HttpMethod.Put, path, 400, "INVALID_ARGUMENT", """{"limit_nano": 5}""");
        var wrongType = await _rest.ErrorAsync(HttpMethod.Put, path, 400, "INVALID_ARGUMENT", """{"limitNanos": "lots"}""");
        var badEnum = await _rest.ErrorAsync(HttpMethod.Put, path, 400, "INVALID_ARGUMENT", """{"period": "FORTNIGHT"}""");
        var malformed = await _rest.ErrorAsync(HttpMethod.Put, path, 400, "INVALID_ARGUMENT", """{"limitNanos": 5""");
        var notAnObject = await _rest.ErrorAsync(HttpMethod.Put, path, 400, "INVALID_ARGUMENT", "[1, 2]");
        var duplicate = await _rest.ErrorAsync(HttpMethod.Put, path, 400, "INVALID_ARGUMENT", """{"limitNanos": 5, "limitNanos": 6}""");
        var bothNames = await _rest.ErrorAsync(HttpMethod.Put, path, 400, "INVALID_ARGUMENT", """{"limitNanos": 5, "limit_nanos": 6}""");

        Assert.Contains("limit_nano", typo);
        Assert.Contains("invalid request", wrongType);
        Assert.Contains("FORTNIGHT", badEnum);
        Assert.StartsWith("the body is not valid JSON", malformed);
        Assert.Equal("the body must be a JSON object", notAnObject);
        Assert.Contains("limitNanos", duplicate);
        Assert.Equal("'limit_nanos' is given twice, as limit_nanos and limitNanos", bothNames);
        Assert.Equal(500, (await silo.Management.StatusAsync(team)).LimitNanos);
    }

    [Fact]
    public async Task TheScopeComesFromThePathOnlyAndTheBodyMustBeJsonWithinTheSizeLimit()
    {
        var team = "team/" + Build.UniqueKey("rest-body");
        var path = "api/v1/budgets/" + team;

        var scopeInBody = await _rest.ErrorAsync(HttpMethod.Put, path, 400, "INVALID_ARGUMENT", """{"scope": "team/other", "limitNanos": 5}""");
        var queryAndBody = await _rest.ErrorAsync(HttpMethod.Put, path + "?limit_nanos=6", 400, "INVALID_ARGUMENT", """{"limitNanos": 5}""");
        var form = await _rest.ErrorAsync(HttpMethod.Put, path, 415, "INVALID_ARGUMENT", "limitNanos=5", "application/x-www-form-urlencoded");
        var huge = await _rest.ErrorAsync(HttpMethod.Put, path, 413, "RESOURCE_EXHAUSTED",
            $$"""{"currency": "{{new string('x', 64 * 1024)}}"}""");
        var bodyOnGet = await _rest.ErrorAsync(HttpMethod.Get, path, 400, "INVALID_ARGUMENT", "{}");

        Assert.Equal("'scope' is given by the path; leave it out of the body", scopeInBody);
        Assert.Contains("'limit_nanos' is given twice", queryAndBody);
        Assert.Contains("must be application/json", form);
        Assert.Contains($"vs. {64 * 1024} bytes", huge);
        Assert.Contains("takes no body", bodyOnGet);
        Assert.Equal(0, (await silo.Management.StatusAsync(team)).LimitNanos);

        // A body field can equally be given in the query string; JSON with a charset is JSON.
        using var viaQuery = await _rest.SendAsync(HttpMethod.Put, path + "?limit_nanos=7&frozen=true", "{}", "application/json; charset=utf-8");
        Assert.Equal(System.Net.HttpStatusCode.OK, viaQuery.StatusCode);
        Assert.Equal((7L, true), ((await silo.Management.StatusAsync(team)).LimitNanos, (await silo.Management.StatusAsync(team)).Frozen));
        Assert.Contains("not true or false", await _rest.ErrorAsync(HttpMethod.Put, path + "?frozen=yes", 400, "INVALID_ARGUMENT"));
    }

    public void Dispose() => _rest.Dispose();
}
