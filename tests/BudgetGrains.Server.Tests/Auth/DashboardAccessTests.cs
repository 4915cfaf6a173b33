using System.Net;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>The dashboard's HTTP routes that are not rpcs, on a silo that requires keys: its reports span every tenant, so
/// they need an admin key or a viewer key of no tenant, as the exports it links to do; its pages hold no data and stay open.</summary>
[Collection(AuthCollection.Name)]
public sealed class DashboardAccessTests(AuthFixture silo)
{
    [Theory]
    [InlineData("reports/spend")]
    [InlineData("reports/live")]
    [InlineData("exports/ledger?format=csv")]
    [InlineData("exports/usage?format=jsonl")]
    [InlineData("reconciliation?from_unix_ms=1793577600000")]
    public async Task ReportsAndExportsNeedAKeyThatSeesEveryTenant(string path)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await silo.RestAsync(HttpMethod.Get, path, null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await silo.RestAsync(HttpMethod.Get, path, "bgk_0000000000000000_nope")).Status);
        var (agentStatus, agentBody, _) = await silo.RestAsync(HttpMethod.Get, path, silo.AgentA);
        Assert.Equal(HttpStatusCode.Forbidden, agentStatus);
        Assert.Contains("PERMISSION_DENIED", agentBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await silo.RestAsync(HttpMethod.Get, path, silo.ViewerA)).Status);

        Assert.Equal(HttpStatusCode.OK, (await silo.RestAsync(HttpMethod.Get, path, silo.Viewer)).Status);
        Assert.Equal(HttpStatusCode.OK, (await silo.RestAsync(HttpMethod.Get, path, silo.AdminKey)).Status);
    }

    /// <summary>gRPC calls skip the HTTP middlewares (GrpcHosting.UseGrpcShortCut), chosen by the endpoint routing matched,
    /// not by what a request claims: dressed as gRPC, a request for a report or the Orleans dashboard still needs its key,
    /// on either port.</summary>
    [Theory]
    [InlineData("/api/v1/reports/spend", false)]
    [InlineData("/orleans/", false)]
    [InlineData("/api/v1/reports/spend", true)]
    public async Task ARequestDressedAsGrpcStillMeetsTheAccessCheck(string path, bool onGrpcPort)
    {
        using var client = new HttpClient { BaseAddress = onGrpcPort ? silo.Silo.Address : silo.Silo.HttpAddress };
        // The gRPC port speaks HTTP/2 only (h2c with prior knowledge, as gRPC clients do).
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
            Version = onGrpcPort ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ThePagesThemselvesStayOpen() =>
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/")).StatusCode);
}
