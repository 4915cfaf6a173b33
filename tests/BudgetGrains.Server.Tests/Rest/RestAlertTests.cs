using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests.Alerts;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>Alerts over REST: the list (filters and paging in the query string) and acknowledgement, with the one error body.</summary>
[Collection(SiloCollection.Name)]
public sealed class RestAlertTests(SiloFixture silo) : IDisposable
{
    private const long Dollar = 1_000_000_000;
    private readonly RestCalls _rest = new(silo.Silo);

    [Fact]
    public async Task GetListsAlertsNewestFirstAndPostAcknowledgesOne()
    {
        var team = "team/" + Build.UniqueKey("rest-alerts");
        await silo.Management.SetBudgetAsync(team, 100 * Dollar, thresholds: [50, 80]);
        await silo.Admission.SpendAsync(team, 80 * Dollar);

        var first = await _rest.CallAsync<ListAlertsResponse>(HttpMethod.Get, $"api/v1/alerts?scope_prefix={Uri.EscapeDataString(team)}&page_size=1");
        var second = await _rest.CallAsync<ListAlertsResponse>(HttpMethod.Get,
            $"api/v1/alerts?scopePrefix={Uri.EscapeDataString(team)}&pageSize=1&pageToken={first.NextPageToken}");
        var acked = await _rest.CallAsync<Alert>(HttpMethod.Post, $"api/v1/alerts/{second.Alerts[0].Id}:ack", """{"by": "alice"}""");
        var unacked = await _rest.CallAsync<ListAlertsResponse>(HttpMethod.Get, $"api/v1/alerts?scope_prefix={Uri.EscapeDataString(team)}&unacknowledged_only=true");

        Assert.Equal((80, 50), (first.Alerts.Single().ThresholdPercent, second.Alerts.Single().ThresholdPercent));
        Assert.Equal($"{team} spent $80.00 of $100.00 (80%)", first.Alerts[0].Message);
        Assert.Equal("", second.NextPageToken);
        Assert.Equal((second.Alerts[0].Id, true, "alice"), (acked.Id, acked.Acknowledged, acked.AcknowledgedBy));
        Assert.Equal([first.Alerts[0].Id], unacked.Alerts.Select(a => a.Id));
    }

    [Fact]
    public async Task AcknowledgingAnUnknownOrMalformedIdIsA404OrA400()
    {
        var unknown = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/alerts/9223372036854775807:ack", 404, "NOT_FOUND", "{}");
        var malformed = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/alerts/abc:ack", 400, "INVALID_ARGUMENT", "{}");

        Assert.Equal("no alert with id 9223372036854775807", unknown);
        Assert.Equal("alert id 'abc' is not an alert id (a number such as 42)", malformed);
    }

    public void Dispose() => _rest.Dispose();
}
