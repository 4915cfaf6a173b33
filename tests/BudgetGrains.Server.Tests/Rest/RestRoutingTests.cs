using System.Net;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using BudgetGrains.Server.Rest;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>The route tables: every Management rpc and every unary Admission rpc has a route, and a path or method that is not one gets a JSON error.</summary>
[Collection(SiloCollection.Name)]
public sealed class RestRoutingTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    [Fact]
    public void EveryManagementRpcHasARoute()
    {
        var rpcs = ManagementReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Management")
            .Methods.Select(m => m.Name).Order();

        Assert.Equal(rpcs, ManagementRoutes.All.Concat(AccessRoutes.All).Select(r => r.Rpc).Distinct().Order());
    }

    [Fact]
    public void EveryUnaryAdmissionRpcHasARoute()
    {
        var rpcs = Admission.Descriptor.Methods.Where(m => !m.IsServerStreaming).Select(m => m.Name).Order();

        Assert.Equal(rpcs, AdmissionRoutes.All.Select(r => r.Rpc).Distinct().Order());
    }

    [Theory]
    [InlineData("GET", "api/v1/nothing")]
    [InlineData("GET", "api/v2/budgets")]
    [InlineData("GET", "api/v1/budgets/")]
    [InlineData("GET", "api/v1/alerts/1/2:ack")]
    [InlineData("POST", "api/v1/budgets:freeze")]
    public async Task AnUnknownRouteIsA404WithTheErrorBody(string method, string path)
    {
        var message = await _rest.ErrorAsync(new HttpMethod(method), path, 404, "NOT_FOUND");

        Assert.Contains("/" + path, message);
    }

    [Theory]
    [InlineData("DELETE", "api/v1/budgets", "GET")]
    [InlineData("POST", "api/v1/budgets/team/search", "GET, PUT, PATCH, DELETE")]
    [InlineData("PATCH", "api/v1/task-policies/agent/planner", "GET, PUT")]
    [InlineData("GET", "api/v1/budgets/team/search:freeze", "POST")]
    [InlineData("GET", "api/v1/tasks/task/acme/run-42:end", "POST")]
    public async Task AKnownPathWithTheWrongMethodIsA405ThatNamesTheRightOnes(string method, string path, string allow)
    {
        using var response = await _rest.SendAsync(new HttpMethod(method), path);
        var message = await RestCalls.AssertErrorAsync(response, 405, "UNIMPLEMENTED");

        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        Assert.Contains($"{method} is not allowed", message);
    }

    [Fact]
    public async Task AnEscapedColonOrSlashIsPartOfTheScopeNotAVerb()
    {
        var team = "team/" + Build.UniqueKey("rest-colon") + ":freeze";
        await silo.Management.SetBudgetAsync(team, 42);
        var escaped = team.Replace(":", "%3A", StringComparison.Ordinal);

        var byEscapedColon = await _rest.CallAsync<BudgetStatus>(HttpMethod.Get, "api/v1/budgets/" + escaped);
        var byEscapedSlash = await _rest.CallAsync<BudgetStatus>(HttpMethod.Get, "api/v1/budgets/" + escaped.Replace("/", "%2F", StringComparison.Ordinal));

        Assert.Equal((team, 42L), (byEscapedColon.Scope, byEscapedColon.LimitNanos));
        Assert.Equal(team, byEscapedSlash.Scope);
        // A colon that is not one of the collection's verbs is simply part of the scope.
        Assert.Equal("team/a:b", (await _rest.CallAsync<BudgetStatus>(HttpMethod.Get, "api/v1/budgets/team/a:b")).Scope);
    }

    [Fact]
    public async Task CallsFromAnotherOriginAreRefusedAndChangeNothing()
    {
        var team = "team/" + Build.UniqueKey("rest-origin");
        var own = silo.Silo.HttpAddress!.GetLeftPart(UriPartial.Authority);

        using var fromElsewhere = await SendWithOriginAsync(team, "http://evil.example");
        using var fromSandbox = await SendWithOriginAsync(team, "null");
        Assert.Contains("cross-origin", await RestCalls.AssertErrorAsync(fromElsewhere, 403, "PERMISSION_DENIED"));
        await RestCalls.AssertErrorAsync(fromSandbox, 403, "PERMISSION_DENIED");
        Assert.Equal(0, (await silo.Management.StatusAsync(team)).LimitNanos);

        using var fromItself = await SendWithOriginAsync(team, own);
        Assert.Equal(HttpStatusCode.OK, fromItself.StatusCode);
        Assert.Equal(5, (await silo.Management.StatusAsync(team)).LimitNanos);
    }

    private async Task<HttpResponseMessage> SendWithOriginAsync(string scope, string origin)
    {
        using var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress };
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/v1/budgets/" + scope)
        {
            Content = new StringContent("""{"limitNanos": 5}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Origin", origin);
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    [Fact]
    public async Task PathsOutsideTheApiAreLeftToTheRestOfTheServer()
    {
        // (/metrics, /healthz, /readyz and the dashboard are served there: tests/.../Observability.)
        using var other = await _rest.SendAsync(HttpMethod.Get, "no-such-page");

        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(0, other.Content.Headers.ContentLength ?? 0);
    }

    public void Dispose() => _rest.Dispose();
}

/// <summary>The HTTP endpoint's setting: next to the gRPC port by default, port 0 in tests, "none" turns it off.</summary>
public sealed class HttpEndpointOptionTests
{
    [Theory]
    [InlineData("127.0.0.1:5080", null, "127.0.0.1:5081")]
    [InlineData("0.0.0.0:6000", null, "0.0.0.0:6001")]
    [InlineData("127.0.0.1:0", null, "127.0.0.1:0")]
    [InlineData("127.0.0.1:5080", "127.0.0.1:8080", "127.0.0.1:8080")]
    [InlineData("127.0.0.1:5080", "none", null)]
    [InlineData("127.0.0.1:5080", "", null)]
    public void TheHttpEndpointFollowsListenUnlessSet(string listen, string? http, string? expected)
    {
        var options = new SiloOptions { Listen = listen, Http = http };

        Assert.Equal(expected, options.HttpEndPoint?.ToString());
    }

    [Fact]
    public void AnHttpSettingThatIsNotAnAddressIsAClearError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new SiloOptions { Http = "localhost" }.HttpEndPoint);

        Assert.Contains("BudgetGrains:Http 'localhost' is not an address:port", e.Message);
    }

    [Fact]
    public async Task ASiloWithHttpNoneServesNoHttpEndpoint()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-nohttp-" + Guid.NewGuid().ToString("N"));
        var silo = await Silo.StartAsync(new SiloOptions { Listen = "127.0.0.1:0", Http = "none", DataDir = dataDir },
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        try
        {
            Assert.Null(silo.HttpAddress);
        }
        finally
        {
            await silo.DisposeAsync();
            Directory.Delete(dataDir, recursive: true);
        }
    }
}

/// <summary>Error codes are spelled as in the gRPC spec, and every status has an HTTP status of its class.</summary>
public sealed class RestErrorMappingTests
{
    [Fact]
    public void EveryStatusHasItsCanonicalNameAndAnErrorHttpStatus()
    {
        string[] canonical =
        [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
            "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ];
        var codes = Enum.GetValues<global::Grpc.Core.StatusCode>();

        Assert.Equal(canonical, codes.Select(RestErrors.NameOf));
        Assert.All(codes.Skip(1), c => Assert.InRange(RestErrors.HttpStatusOf(c), 400, 599));
        Assert.Equal(409, RestErrors.HttpStatusOf(global::Grpc.Core.StatusCode.FailedPrecondition));
    }
}
