using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using Grpc.Core;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>A clock the test moves forward by hand; timers still run on real time.</summary>
internal sealed class SteppedClock : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}

/// <summary>Requests- and tokens-per-minute limits hold under concurrent callers, refill with time, and say when to retry.</summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private readonly SteppedClock _clock = new();
    private OwnSilo _silo = null!;

    public async Task InitializeAsync()
    {
        var options = OwnSilo.NewOptions("rate");
        options.Prices[SiloFixture.PricedModel] = new PriceOptions { OutputNanos = 1 };
        _silo = await OwnSilo.StartAsync(options, _clock);
    }

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task ConcurrentCallersGetExactlyTheRequestsPerMinuteThenARetryHint()
    {
        var team = Build.UniqueKey("rpm");
        await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/" + team, RequestsPerMinute = 30 });
        var attribution = new Attribution { Team = team };

        var answers = new ConcurrentBag<ReserveResponse>();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 4; i++) answers.Add(await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 1)));
        })));

        Assert.Equal(30, answers.Count(a => a.Decision == Decision.Admitted));
        var limited = answers.Where(a => a.Decision == Decision.Denied).ToList();
        Assert.All(limited, a => Assert.Equal((DenyReason.RateLimited, "team/" + team), (a.Reason, a.DeniedScope)));
        // 30 per minute refills one request every 2 s; the clock has not moved, so the wait is at most that.
        Assert.All(limited, a => Assert.InRange(a.RetryAfterMs, 1, 2_000));

        _clock.Advance(TimeSpan.FromSeconds(10));
        var afterTenSeconds = new List<ReserveResponse>();
        for (var i = 0; i < 6; i++) afterTenSeconds.Add(await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 1)));

        Assert.Equal(5, afterTenSeconds.Count(a => a.Decision == Decision.Admitted));
    }

    [Fact]
    public async Task TokensPerMinuteCountsEstimatedUsageAndABudgetDenyConsumesNoRate()
    {
        var tenant = Build.UniqueKey("tpm");
        await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "tenant/" + tenant, TokensPerMinute = 1_000, LimitNanos = 1_000_000_000 });
        var attribution = new Attribution { Tenant = tenant };
        await _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "budget/" + tenant, LimitNanos = 1 });

        var overBudget = await _silo.Admission.ReserveAsync(Usage(new Attribution(attribution) { Budgets = { tenant } }, 600));
        var first = await _silo.Admission.ReserveAsync(Usage(attribution, 600));
        var second = await _silo.Admission.ReserveAsync(Usage(attribution, 600));
        var check = await _silo.Admission.CheckAsync(new CheckRequest { Attribution = attribution, EstimateNanos = 1 });

        Assert.Equal((DenyReason.BudgetExhausted, "budget/" + tenant), (overBudget.Reason, overBudget.DeniedScope));
        Assert.Equal(Decision.Admitted, first.Decision);
        Assert.Equal((Decision.Denied, DenyReason.RateLimited), (second.Decision, second.Reason));
        // 200 tokens are missing at 1000 per minute: 12 s, less the real milliseconds since the first reserve.
        Assert.InRange(second.RetryAfterMs, 11_500, 12_000);
        Assert.Equal(Decision.Admitted, check.Decision);

        _clock.Advance(TimeSpan.FromMilliseconds(12_000));
        Assert.Equal(Decision.Admitted, (await _silo.Admission.ReserveAsync(Usage(attribution, 600))).Decision);
    }

    [Fact]
    public async Task RatesOutOfRangeAreRefused()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/x", RequestsPerMinute = -1 }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    private static ReserveRequest Usage(Attribution attribution, long outputTokens)
    {
        var request = Build.Reserve(attribution, 0);
        request.EstimateUsage = new TokenUsage { Model = SiloFixture.PricedModel, OutputTokens = outputTokens };
        return request;
    }
}
