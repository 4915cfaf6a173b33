using System.Net;
using System.Net.Http.Headers;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Auth;
using Grpc.Core;
using static BudgetGrains.Server.Tests.Auth.AuthFixture;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>Repeated failed authentications from one address: refused RESOURCE_EXHAUSTED with a retry hint (gRPC trailer,
/// REST Retry-After) until the minute is over, valid keys included; a call without a key is not a failure.</summary>
public sealed class FailedAuthLimitTests
{
    [Fact]
    public async Task PastTheLimitAnAddressWaitsForTheEndOfItsWindow()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var options = OwnSilo.NewOptions("authlimit");
        options.Auth.Mode = "required";
        options.Auth.AdminKeyFile = Path.Combine(options.DataDir, "admin.key");
        options.Auth.MaxFailuresPerMinute = 3;
        await using var silo = await OwnSilo.StartAsync(options, clock);
        var admin = (await File.ReadAllTextAsync(options.Auth.AdminKeyFile)).Trim();
        var list = new ListBudgetsRequest();

        for (var i = 0; i < 3; i++)
        {
            var bad = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ListBudgetsAsync(list, As("bgk_0123456789abcdef_guess" + i)).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, bad.StatusCode);
        }
        var limited = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ListBudgetsAsync(list, As("bgk_0123456789abcdef_guess")).ResponseAsync);
        var evenTheAdmin = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ListBudgetsAsync(list, As(admin)).ResponseAsync);
        var noKey = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ListBudgetsAsync(list, As(null)).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, limited.StatusCode);
        Assert.Contains("limit 3 per minute", limited.Status.Detail, StringComparison.Ordinal);
        Assert.InRange(long.Parse(limited.Trailers.GetValue(AccessInterceptor.RetryAfterTrailer)!, System.Globalization.CultureInfo.InvariantCulture), 1, 60_000);
        Assert.Equal(StatusCode.ResourceExhausted, evenTheAdmin.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, noKey.StatusCode);

        using (var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress })
        using (var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/budgets"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.InRange(response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 60);
        }

        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.NotNull(await silo.Management.ListBudgetsAsync(list, As(admin)));
    }
}
