using System.Text.Json;
using BudgetGrains.Server.Rest;
using Grpc.Core;

namespace BudgetGrains.Server.Auth;

/// <summary>
/// The dashboards' sign-in (docs/decisions/0033): a browser cannot put <c>authorization: Bearer</c> on a page it
/// navigates to (the Orleans dashboard) nor on a preload, so <c>POST /dashboard/session {"key": "..."}</c> verifies the
/// key like any call and sets it as a cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
/// it), Secure over TLS, 12 hours. The cookie is the key itself, so it works on every silo of a cluster and a revoked key
/// stops working at once; <c>DELETE /dashboard/session</c> signs out. It is accepted on the HTTP routes and the REST
/// mirror only, and never with an Origin header of another origin.
/// </summary>
internal static class DashboardSession
{
    public const string Path = "/dashboard/session";
    public const string CookieName = "budgetgrains_key";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    /// <summary>The signed-in key of this request, if its cookie came from a page of this origin.</summary>
    public static string? KeyOf(HttpRequest request) =>
        request.Cookies.TryGetValue(CookieName, out var key) && key.Length > 0 && !RestMirror.IsCrossOrigin(request) ? key : null;

    public static async Task ServeAsync(HttpContext context, AccessInterceptor access)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        if (RestMirror.IsCrossOrigin(context.Request))
        {
            await RestErrors.WriteAsync(response, StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "sign-in from another origin is refused");
            return;
        }
        if (HttpMethods.IsDelete(context.Request.Method))
        {
            response.Cookies.Delete(CookieName, Options(context.Request));
            response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            response.Headers.Allow = "POST, DELETE";
            await RestErrors.WriteAsync(response, StatusCodes.Status405MethodNotAllowed, StatusCode.Unimplemented, $"use POST {Path} to sign in, DELETE to sign out");
            return;
        }
        if (!access.Required)
        {
            await RestErrors.WriteAsync(response, StatusCodes.Status400BadRequest, StatusCode.FailedPrecondition, "auth is off on this silo: there is nothing to sign in to");
            return;
        }
        var key = await ReadKeyAsync(context);
        if (key is null)
        {
            await RestErrors.WriteAsync(response, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, """the body must be JSON {"key": "<API key>"}""");
            return;
        }
        try
        {
            var caller = access.SignIn(context, key);
            response.Cookies.Append(CookieName, key, Options(context.Request));
            await response.WriteAsJsonAsync(new { role = caller.Role, tenant = caller.Tenant }, context.RequestAborted);
        }
        catch (RpcException e)
        {
            await RestErrors.WriteAsync(response, RestErrors.HttpStatusOf(e.StatusCode), e.StatusCode, e.Status.Detail);
        }
    }

    private static CookieOptions Options(HttpRequest request) => new()
    {
        Path = "/", HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = request.IsHttps, MaxAge = Lifetime, IsEssential = true,
    };

    private static async Task<string?> ReadKeyAsync(HttpContext context)
    {
        if (context.Request.ContentLength is > 4096) return null;
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            return body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("key", out var key)
                && key.ValueKind == JsonValueKind.String && key.GetString()!.Trim() is { Length: > 0 and <= 256 } trimmed ? trimmed : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
