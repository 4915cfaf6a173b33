using System.Globalization;
using System.Net;
using BudgetGrains.Server.Rest;
using Grpc.Core;
using Grpc.Core.Interceptors;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Auth;

/// <summary>
/// Authentication and authorization of every call, gRPC and REST alike (the REST mirror runs each rpc through this same
/// interceptor, see <see cref="InterceptingBinder"/>): the key from <c>authorization: Bearer &lt;key&gt;</c> (or, on the
/// REST mirror and the HTTP routes, the dashboard's sign-in cookie, <see cref="DashboardSession"/>), the rule of
/// the rpc (<see cref="AccessRules"/>), the tenant rules of agent and viewer keys, and the audit log of changes.
/// </summary>
internal sealed class AccessInterceptor(bool required, ApiKeyRegistry keys, FailedAuthLimiter failures, AuditLog audit, TenantView tenants)
    : Interceptor
{
    /// <summary>Where the verified caller is kept in <see cref="ServerCallContext.UserState"/> for the rpc's own use.</summary>
    public const string CallerKey = "budgetgrains.caller";

    /// <summary>gRPC trailer with the milliseconds to wait after too many failed authentications.</summary>
    public const string RetryAfterTrailer = "retry-after-ms";

    public static Caller CallerOf(ServerCallContext context) =>
        context.UserState.TryGetValue(CallerKey, out var caller) && caller is Caller c ? c : Caller.Anyone;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var kind = RuleOf(context);
        if (kind == AccessKind.Open) return await continuation(request, context);
        var caller = Authenticate(kind, context);
        switch (kind)
        {
            case AccessKind.Change:
                return await audit.RecordAsync(caller, request, context, continuation);
            case AccessKind.Admission when caller.IsTenant:
                AgentTenancy.ScopeRequest(caller, request);
                try
                {
                    var answer = await continuation(request, context);
                    AgentTenancy.UnscopeResponse(caller, answer);
                    return answer;
                }
                catch (RpcException e)
                {
                    throw AgentTenancy.Unscope(caller, e);
                }
            case AccessKind.Read when caller.IsTenant:
                await tenants.CheckAsync(caller, request, context);
                var response = await continuation(request, context);
                await tenants.FilterAsync(caller, response, context);
                return response;
            default:
                return await continuation(request, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var kind = RuleOf(context);
        if (kind != AccessKind.Open)
        {
            var caller = Authenticate(kind, context);
            if (kind == AccessKind.Admission && caller.IsTenant) AgentTenancy.ScopeRequest(caller, request);
            if (kind == AccessKind.Read && caller.IsTenant)
            {
                await tenants.CheckAsync(caller, request, context);
                // Computed when the stream opens: a parent link changed later is seen by the next stream.
                var visible = await tenants.VisibleAsync(caller.Tenant, context);
                responseStream = new FilteringStreamWriter<TResponse>(responseStream, m => m is not V1.Alert alert || visible(alert.Scope));
            }
        }
        await continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var kind = RuleOf(context);
        if (kind != AccessKind.Open) RequireAdmin(Authenticate(kind, context));
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var kind = RuleOf(context);
        if (kind != AccessKind.Open) RequireAdmin(Authenticate(kind, context));
        return continuation(requestStream, responseStream, context);
    }

    private static AccessKind RuleOf(ServerCallContext context) =>
        AccessRules.For(context.Method)
        ?? throw new RpcException(new Status(StatusCode.PermissionDenied, $"{context.Method} has no access rule; it is refused to every key"));

    /// <summary>Streams from clients have no tenant rules yet: only an admin may call them.</summary>
    private static void RequireAdmin(Caller caller)
    {
        if (!caller.IsAdmin) throw AgentTenancy.Denied("this call needs an admin key");
    }

    private Caller Authenticate(AccessKind kind, ServerCallContext context)
    {
        var caller = Verify(context);
        if (!AccessRules.Allows(kind, caller.Role))
        {
            var rpc = context.Method[(context.Method.LastIndexOf('/') + 1)..];
            throw AgentTenancy.Denied($"a {caller.Role} key may not call {rpc}: it needs {AccessRules.Needs(kind)}");
        }
        context.UserState[CallerKey] = caller;
        return caller;
    }

    /// <summary>The caller of an HTTP route outside the REST mirror (the dashboard's reports, the Orleans dashboard),
    /// checked like an rpc of <paramref name="kind"/>: an RpcException with the status otherwise.</summary>
    public Caller AuthenticateHttp(HttpContext http, AccessKind kind)
    {
        var caller = Verify(http, inProcess: true);
        if (!AccessRules.Allows(kind, caller.Role))
            throw AgentTenancy.Denied($"a {caller.Role} key may not read this: it needs {AccessRules.Needs(kind)}");
        return caller;
    }

    private Caller Verify(ServerCallContext context) => Verify(context.GetHttpContext(), context is InProcessCallContext);

    /// <summary>The dashboard's sign-in: <paramref name="key"/> verified as a Bearer key would be (the failed-attempt limit
    /// included); an RpcException UNAUTHENTICATED or RESOURCE_EXHAUSTED otherwise.</summary>
    public Caller SignIn(HttpContext http, string key) => Check(http, key, inProcess: true, InvalidKey);

    private const string InvalidKey = "the API key is not valid: unknown, revoked or mistyped";

    /// <summary>Whether keys are required at all (with auth off there is nothing to sign in to).</summary>
    public bool Required => required;

    private Caller Verify(HttpContext http, bool inProcess)
    {
        if (!required) return Caller.Anyone;
        var header = http.Request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            const string bearer = "Bearer ";
            var isBearer = header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase);
            return Check(http, isBearer ? header[bearer.Length..].Trim() : null, inProcess,
                isBearer ? InvalidKey : "the authorization header must be Bearer <key>");
        }
        // A browser cannot send the header on a page it navigates to: the dashboard's sign-in cookie stands for it on the
        // HTTP routes and the REST mirror (not on gRPC, which browsers do not speak).
        if (inProcess && DashboardSession.KeyOf(http.Request) is { } signedIn)
            return Check(http, signedIn, inProcess, "the dashboard sign-in is no longer valid (the key was revoked?): sign in again");
        throw Unauthenticated("this call needs an API key: send authorization: Bearer <key> (budgetctl: --api-key or BUDGETGRAINS_API_KEY)");
    }

    private Caller Check(HttpContext http, string? key, bool inProcess, string invalid)
    {
        var address = http.Connection.RemoteIpAddress ?? IPAddress.None;
        if (failures.Blocked(address) is { } wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            if (inProcess) http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            throw new RpcException(
                new Status(StatusCode.ResourceExhausted,
                    $"too many failed authentications from {address} (limit {failures.MaxFailuresPerMinute} per minute); retry in {seconds} s"),
                new Metadata { { RetryAfterTrailer, ((long)Math.Ceiling(wait.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) } });
        }
        if (key is not null && keys.Verify(key) is { } caller) return caller;
        failures.Failed(address);
        throw Unauthenticated(invalid);
    }

    private static RpcException Unauthenticated(string message) => new(new Status(StatusCode.Unauthenticated, message));
}

/// <summary>
/// A service binder that puts <see cref="AccessInterceptor"/> in front of every handler it binds: how the REST mirror
/// calls each rpc through the same checks as gRPC.
/// </summary>
internal sealed class InterceptingBinder(ServiceBinderBase inner, Interceptor interceptor) : ServiceBinderBase
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(method, handler is null ? null : (request, context) => interceptor.UnaryServerHandler(request, context, handler));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(method, handler is null ? null : (request, stream, context) => interceptor.ServerStreamingServerHandler(request, stream, context, handler));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(method, handler is null ? null : (stream, context) => interceptor.ClientStreamingServerHandler(stream, context, handler));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(method, handler is null ? null : (requests, responses, context) => interceptor.DuplexStreamingServerHandler(requests, responses, context, handler));
}
