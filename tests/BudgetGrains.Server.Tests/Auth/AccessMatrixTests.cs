using System.Net;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Auth;
using BudgetGrains.Server.Rest;
using Grpc.Core;
using Grpc.Health.V1;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>
/// Every rpc and every REST route, enumerated from the service descriptors and the route tables (so a new rpc without
/// an access rule fails here): without a key UNAUTHENTICATED, with a key of a role it does not allow PERMISSION_DENIED,
/// with one it allows past authentication.
/// </summary>
[Collection(AuthCollection.Name)]
public sealed class AccessMatrixTests(AuthFixture silo)
{
    public static TheoryData<string> Rpcs() => [.. AuthFixture.AllRpcs.Select(m => m.FullName)];

    private static Google.Protobuf.Reflection.MethodDescriptor Rpc(string fullName) => AuthFixture.AllRpcs.Single(m => m.FullName == fullName);

    private static AccessKind KindOf(Google.Protobuf.Reflection.MethodDescriptor rpc) =>
        AccessRules.For(AccessRules.Method(rpc.Service.FullName, rpc.Name)) ?? throw new Xunit.Sdk.XunitException($"{rpc.FullName} has no access rule");

    [Fact]
    public void EveryRpcOfEveryServiceHasAnAccessRuleAndNoRuleNamesAnRpcThatIsGone()
    {
        var methods = AuthFixture.AllRpcs.Select(m => AccessRules.Method(m.Service.FullName, m.Name)).ToHashSet();

        Assert.All(methods, m => Assert.NotNull(AccessRules.For(m)));
        Assert.All(AccessRules.ByMethod.Keys, m => Assert.Contains(m, methods));
        Assert.Null(AccessRules.For("/budget.v1.Management/NoSuchRpc"));
        Assert.Equal(AccessKind.Open, AccessRules.For("/grpc.health.v1.Health/Check"));
    }

    [Theory]
    [MemberData(nameof(Rpcs))]
    public async Task WithoutAKeyEveryRpcIsUnauthenticated(string fullName)
    {
        Assert.Equal(StatusCode.Unauthenticated, await silo.CallRawAsync(Rpc(fullName), key: null));
        Assert.Equal(StatusCode.Unauthenticated, await silo.CallRawAsync(Rpc(fullName), key: "bgk_0000000000000000_not-a-real-secret"));
    }

    [Theory]
    [MemberData(nameof(Rpcs))]
    public async Task WithAKeyOfARoleTheRuleDoesNotAllowEveryRpcIsPermissionDenied(string fullName)
    {
        var rpc = Rpc(fullName);
        var kind = KindOf(rpc);
        var wrong = new List<string>();
        if (!AccessRules.Allows(kind, ApiKeyRoles.Agent)) wrong.Add(silo.AgentA);
        if (!AccessRules.Allows(kind, ApiKeyRoles.Viewer)) wrong.AddRange([silo.Viewer, silo.ViewerA]);

        Assert.NotEmpty(wrong);
        foreach (var key in wrong) Assert.Equal(StatusCode.PermissionDenied, await silo.CallRawAsync(rpc, key));
    }

    [Theory]
    [MemberData(nameof(Rpcs))]
    public async Task WithAKeyOfARoleTheRuleAllowsEveryRpcGetsPastAuthentication(string fullName)
    {
        var rpc = Rpc(fullName);
        var kind = KindOf(rpc);
        var right = new List<string> { silo.AdminKey };
        if (kind == AccessKind.Read) right.Add(silo.Viewer);

        foreach (var key in right)
        {
            // An empty request is often INVALID_ARGUMENT: that is the rpc's own answer, past the access rules.
            var status = await silo.CallRawAsync(rpc, key);
            Assert.DoesNotContain(status, new[] { StatusCode.Unauthenticated, StatusCode.PermissionDenied, StatusCode.Unknown, StatusCode.Internal });
        }
    }

    [Fact]
    public async Task HealthAndReflectionStayOpen()
    {
        var health = await new Health.HealthClient(silo.Channel).CheckAsync(new HealthCheckRequest(), AuthFixture.As(null));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        var reflection = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(silo.Channel);
        using var call = reflection.ServerReflectionInfo(AuthFixture.As(null));
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Contains(call.ResponseStream.Current.ListServicesResponse.Service, s => s.Name == "budget.v1.Management");
        await call.RequestStream.CompleteAsync();
    }

    public static TheoryData<string, string, string> Routes()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var r in AdmissionRoutes.All) data.Add("budget.v1.Admission", r.Method, r.Template);
        foreach (var r in ManagementRoutes.All.Concat(AccessRoutes.All)) data.Add("budget.v1.Management", r.Method, r.Template);
        return data;
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task EveryRestRouteAnswersLikeItsRpc(string service, string method, string template)
    {
        var route = AdmissionRoutes.All.Concat(ManagementRoutes.All).Concat(AccessRoutes.All).First(r => r.Method == method && r.Template == template);
        var kind = AccessRules.For(AccessRules.Method(service, route.Rpc)) ?? throw new Xunit.Sdk.XunitException($"{route.Rpc} has no rule");
        var path = template.Replace("{**scope}", "team/" + Build.UniqueKey("route"), StringComparison.Ordinal)
            .Replace("{**price.model}", "route-model", StringComparison.Ordinal).Replace("{**model}", "route-model", StringComparison.Ordinal)
            .Replace("{id}", "route-id", StringComparison.Ordinal);
        var body = route.Body is null ? null : "{}";
        var verb = new HttpMethod(method);

        var anonymous = await silo.RestAsync(verb, path, null, body);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Contains("\"UNAUTHENTICATED\"", anonymous.Body, StringComparison.Ordinal);

        foreach (var key in new[] { silo.AgentA, silo.Viewer }.Where((_, i) => !AccessRules.Allows(kind, i == 0 ? ApiKeyRoles.Agent : ApiKeyRoles.Viewer)))
        {
            var wrong = await silo.RestAsync(verb, path, key, body);
            Assert.Equal(HttpStatusCode.Forbidden, wrong.Status);
            Assert.Contains("\"PERMISSION_DENIED\"", wrong.Body, StringComparison.Ordinal);
        }

        var right = await silo.RestAsync(verb, path, silo.AdminKey, body);
        Assert.DoesNotContain(right.Status, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.InternalServerError });
    }
}
