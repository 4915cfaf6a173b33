using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>The kill switch, delete, reset, closed periods and usage over REST, seen by admission and by gRPC.</summary>
[Collection(SiloCollection.Name)]
public sealed class RestLifecycleTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    [Fact]
    public async Task FreezeDeniesTheNextReserveAndUnfreezeAdmitsAgain()
    {
        var feature = Build.UniqueKey("rest-kill");
        var attribution = new Attribution { Feature = feature };

        var frozen = await _rest.CallAsync<BudgetStatus>(HttpMethod.Post, $"api/v1/budgets/feature/{feature}:freeze");
        var denied = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 1));
        var thawed = await _rest.CallAsync<BudgetStatus>(HttpMethod.Post, $"api/v1/budgets/feature/{feature}:unfreeze");
        var admitted = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 1));

        Assert.True(frozen.Frozen);
        Assert.Equal((Decision.Denied, DenyReason.Frozen), (denied.Decision, denied.Reason));
        Assert.False(thawed.Frozen);
        Assert.Equal(Decision.Admitted, admitted.Decision);
        Assert.Contains("takes no body", await _rest.ErrorAsync(HttpMethod.Post, $"api/v1/budgets/feature/{feature}:freeze", 400, "INVALID_ARGUMENT", "{}"));
        Assert.False((await silo.Management.StatusAsync("feature/" + feature)).Frozen);
    }

    [Fact]
    public async Task DeleteRemovesTheBudgetButKeepsItsSpend()
    {
        var team = Build.UniqueKey("rest-delete");
        await silo.Management.SetBudgetAsync("team/" + team, 10);
        await CommitAsync(new Attribution { Team = team }, 10);

        var deleted = await _rest.CallAsync<DeleteBudgetResponse>(HttpMethod.Delete, "api/v1/budgets/team/" + team);
        var again = await _rest.CallAsync<DeleteBudgetResponse>(HttpMethod.Delete, "api/v1/budgets/team/" + team);
        var status = await _rest.CallAsync<BudgetStatus>(HttpMethod.Get, "api/v1/budgets/team/" + team);

        Assert.Equal((true, false), (deleted.Deleted, again.Deleted));
        Assert.Equal((0L, 10L), (status.LimitNanos, status.SpentNanos));
        Assert.Contains("kind/key", await _rest.ErrorAsync(HttpMethod.Delete, "api/v1/budgets/team", 400, "INVALID_ARGUMENT"));
    }

    [Fact]
    public async Task ResetClosesThePeriodAndPeriodsPageThroughTheHistoryNewestFirst()
    {
        var scope = "feature/" + Build.UniqueKey("rest-reset");
        var attribution = new Attribution { Feature = scope["feature/".Length..] };
        await silo.Management.SetBudgetAsync(scope, 1_000);
        var spent = new List<long>();
        for (var i = 1; i <= 3; i++)
        {
            await CommitAsync(attribution, i * 10);
            var reset = await _rest.CallAsync<BudgetStatus>(HttpMethod.Post, $"api/v1/budgets/{scope}:reset");
            Assert.Equal(0, reset.SpentNanos);
            spent.Add(i * 10);
        }

        var periods = new List<PeriodSummary>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await _rest.CallAsync<ListPeriodsResponse>(HttpMethod.Get, $"api/v1/periods/{scope}?page_size=2&pageToken={Uri.EscapeDataString(token)}");
            periods.AddRange(page.Periods);
            token = page.NextPageToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(2, pages);
        Assert.Equal(spent.AsEnumerable().Reverse(), periods.Select(p => p.SpentNanos));
        Assert.All(periods, p => Assert.True(p.Reset));
        Assert.Equal(periods, (await silo.Management.ListPeriodsAsync(new ListPeriodsRequest { Scope = scope })).Periods);
        Assert.Contains("page_size", await _rest.ErrorAsync(HttpMethod.Get, $"api/v1/periods/{scope}?page_size=5000", 400, "INVALID_ARGUMENT"));
    }

    [Fact]
    public async Task UsageGroupsTheCurrentOrAClosedPeriodAPageAtATime()
    {
        var scope = "feature/" + Build.UniqueKey("rest-usage");
        var feature = scope["feature/".Length..];
        await CommitAsync(new Attribution { Feature = feature, Labels = { ["model"] = "m-big" } }, 70);
        await CommitAsync(new Attribution { Feature = feature, Labels = { ["model"] = "m-small" } }, 30);

        var first = await _rest.CallAsync<UsageReport>(HttpMethod.Get, $"api/v1/usage/{scope}?group_by=model&page_size=1");
        var second = await _rest.CallAsync<UsageReport>(HttpMethod.Get, $"api/v1/usage/{scope}?groupBy=model&page_size=1&page_token={Uri.EscapeDataString(first.NextPageToken)}");

        Assert.Equal((100L, 2L), (first.Total.SpentNanos, first.Total.Commits));
        Assert.Equal(("m-big", 70L), (Assert.Single(first.Rows).Key, first.Rows[0].SpentNanos));
        Assert.Equal(("m-small", 30L), (Assert.Single(second.Rows).Key, second.Rows[0].SpentNanos));
        Assert.Equal("", second.NextPageToken);

        var closedStart = (await _rest.CallAsync<BudgetStatus>(HttpMethod.Post, $"api/v1/budgets/{scope}:reset")).PeriodStartUnixMs;
        var closedPeriod = Assert.Single((await _rest.CallAsync<ListPeriodsResponse>(HttpMethod.Get, $"api/v1/periods/{scope}")).Periods);
        var closed = await _rest.CallAsync<UsageReport>(HttpMethod.Get,
            $"api/v1/usage/{scope}?closed=true&period_start_unix_ms={closedPeriod.StartUnixMs}&group_by=model");
        var current = await _rest.CallAsync<UsageReport>(HttpMethod.Get, $"api/v1/usage/{scope}");

        Assert.Equal((100L, closedPeriod.EndUnixMs, 2), (closed.Total.SpentNanos, closed.PeriodEndUnixMs, closed.Rows.Count));
        Assert.Equal((0L, closedStart), (current.Total.SpentNanos, current.PeriodStartUnixMs));
        Assert.Empty(current.Rows);
    }

    [Fact]
    public async Task UsageOfAPeriodThatDoesNotExistIsA404AndABadGroupingA400()
    {
        var scope = "team/" + Build.UniqueKey("rest-usage-bad");

        var noSuchPeriod = await _rest.ErrorAsync(HttpMethod.Get, $"api/v1/usage/{scope}?closed=true&period_start_unix_ms=123", 404, "NOT_FOUND");
        var badGrouping = await _rest.ErrorAsync(HttpMethod.Get, $"api/v1/usage/{scope}?group_by=colour", 400, "INVALID_ARGUMENT");
        var notABool = await _rest.ErrorAsync(HttpMethod.Get, $"api/v1/usage/{scope}?closed=1", 400, "INVALID_ARGUMENT");

        Assert.Contains("has no closed period starting at 123", noSuchPeriod);
        Assert.Contains("group_by 'colour'", badGrouping);
        Assert.Equal("query parameter 'closed' is '1', not true or false", notABool);
    }

    private async Task CommitAsync(Attribution attribution, long nanos)
    {
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(attribution, nanos));
        Assert.Equal(Decision.Admitted, reserve.Decision);
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = nanos });
    }

    public void Dispose() => _rest.Dispose();
}
