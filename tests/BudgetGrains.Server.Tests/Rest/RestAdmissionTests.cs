using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>
/// REST admission (POST /api/v1/reserve, commit, release, check): the proto3 JSON of the rpc's request in, of its
/// response out, the same answers as gRPC, and the mirror's one error body.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class RestAdmissionTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    [Fact]
    public async Task ReserveHoldsOnTheChainThatGrpcReads()
    {
        var team = Build.UniqueKey("rest-reserve");
        await silo.Management.SetBudgetAsync("team/" + team, 1_000);
        var requestId = Build.NewRequestId();

        var reserve = await _rest.CallAsync<ReserveResponse>(HttpMethod.Post, "api/v1/reserve",
            $$"""{"requestId": "{{requestId}}", "attribution": {"team": "{{team}}"}, "estimateNanos": "300"}""");
        var repeated = await _rest.CallAsync<ReserveResponse>(HttpMethod.Post, "api/v1/reserve",
            $$"""{"request_id": "{{requestId}}", "attribution": {"team": "{{team}}"}, "estimate_nanos": 300}""");

        Assert.Equal((Decision.Admitted, requestId, 700L), (reserve.Decision, reserve.ReservationId, reserve.RemainingNanos));
        Assert.Equal(reserve, repeated);
        Assert.Equal((300L, 1), ((await silo.Management.StatusAsync("team/" + team)).HeldNanos, (await silo.Management.StatusAsync("team/" + team)).OpenHolds));
    }

    [Fact]
    public async Task ADenyIsAnAnswerNotAnError()
    {
        var team = Build.UniqueKey("rest-deny");
        await silo.Management.SetBudgetAsync("team/" + team, 100);

        var reserve = await _rest.CallAsync<ReserveResponse>(HttpMethod.Post, "api/v1/reserve",
            $$"""{"requestId": "{{Build.NewRequestId()}}", "attribution": {"team": "{{team}}"}, "estimateNanos": "101"}""");

        Assert.Equal((Decision.Denied, DenyReason.BudgetExhausted, "team/" + team), (reserve.Decision, reserve.Reason, reserve.DeniedScope));
    }

    [Fact]
    public async Task CommitChargesTheActualAndReturnsTheRest()
    {
        var team = Build.UniqueKey("rest-commit");
        await silo.Management.SetBudgetAsync("team/" + team, 1_000);
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Team = team }, 300));

        var commit = await _rest.CallAsync<CommitResponse>(HttpMethod.Post, "api/v1/commit",
            $$"""{"reservationId": "{{reserve.ReservationId}}", "actualNanos": "250", "outcome": "resolved"}""");

        Assert.Equal(new CommitResponse { ChargedNanos = 250 }, commit);
        var status = await silo.Management.StatusAsync("team/" + team);
        Assert.Equal((250L, 0L, 0), (status.SpentNanos, status.HeldNanos, status.OpenHolds));
    }

    [Fact]
    public async Task ReleaseRemovesTheHold()
    {
        var team = Build.UniqueKey("rest-release");
        await silo.Management.SetBudgetAsync("team/" + team, 1_000);
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Team = team }, 300));

        var release = await _rest.CallAsync<ReleaseResponse>(HttpMethod.Post, "api/v1/release", $$"""{"reservationId": "{{reserve.ReservationId}}"}""");

        Assert.True(release.Released);
        var status = await silo.Management.StatusAsync("team/" + team);
        Assert.Equal((0L, 0L, 0), (status.SpentNanos, status.HeldNanos, status.OpenHolds));
    }

    [Fact]
    public async Task CheckAnswersWithoutHoldingAnything()
    {
        var team = Build.UniqueKey("rest-check");
        await silo.Management.SetBudgetAsync("team/" + team, 1_000);

        var fits = await _rest.CallAsync<CheckResponse>(HttpMethod.Post, "api/v1/check", $$"""{"attribution": {"team": "{{team}}"}, "estimateNanos": "1000"}""");
        var over = await _rest.CallAsync<CheckResponse>(HttpMethod.Post, "api/v1/check", $$"""{"attribution": {"team": "{{team}}"}, "estimateNanos": "1001"}""");

        Assert.Equal((Decision.Admitted, 1_000L), (fits.Decision, fits.RemainingNanos));
        Assert.Equal((Decision.Denied, DenyReason.BudgetExhausted), (over.Decision, over.Reason));
        Assert.Equal(0, (await silo.Management.StatusAsync("team/" + team)).OpenHolds);
    }

    [Theory]
    [InlineData("reserve", """{"attribution": {"team": "search"}, "estimateNanos": "10"}""", "request_id")]
    [InlineData("reserve", """{"requestId": "r-1", "attribution": {"team": "search"}, "estimateNanos": "-5"}""", "")]
    [InlineData("reserve", """{"requestId": "r-1", "atribution": {"team": "search"}}""", "atribution")]
    [InlineData("commit", """{"reservationId": "", "actualNanos": "1"}""", "")]
    [InlineData("commit", """{"reservationId": "r-1", "actualNanos": "ten"}""", "")]
    [InlineData("release", """{"reservationId": ""}""", "")]
    [InlineData("check", """{"attribution": {"team": "search team"}, "estimateNanos": "1"}""", "")]
    public async Task BadInputIsInvalidArgument(string route, string json, string mentioned)
    {
        var message = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/" + route, 400, "INVALID_ARGUMENT", json);

        Assert.Contains(mentioned, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("commit", """{"reservationId": "ID", "actualNanos": "1"}""")]
    [InlineData("release", """{"reservationId": "ID"}""")]
    public async Task AnUnknownReservationIsNotFound(string route, string json)
    {
        await _rest.ErrorAsync(HttpMethod.Post, "api/v1/" + route, 404, "NOT_FOUND", json.Replace("ID", Build.NewRequestId(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task AdmissionRoutesTakePostOnly()
    {
        using var response = await _rest.SendAsync(HttpMethod.Get, "api/v1/reserve");

        await RestCalls.AssertErrorAsync(response, 405, "UNIMPLEMENTED");
        Assert.Equal(["POST"], response.Content.Headers.Allow);
    }

    public void Dispose() => _rest.Dispose();
}
