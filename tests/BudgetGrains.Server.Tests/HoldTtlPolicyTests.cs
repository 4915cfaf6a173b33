using BudgetGrains.Contracts.V1;
using Grpc.Core;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>
/// The hold TTL of a task policy: the default lifetime of a hold when the reserve gives none, and a cap on a longer one;
/// inherited from feature and agent (the shorter wins), overridden per task. A silo on a clock the test moves, so that
/// expiry times are exact and a hold expires exactly when the clock passes them.
/// </summary>
public sealed class HoldTtlPolicyTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new();
    private OwnSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("holdttl"), _clock);

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    [Fact]
    public async Task AFeaturePolicyTtlIsTheDefaultForReservesWithoutATaskAndTheHoldExpiresExactlyThen()
    {
        var key = Build.UniqueKey("ttl");
        await SetPolicyAsync("feature/" + key, holdTtlMs: 30_000);
        var attribution = new Attribution { Tenant = key, Feature = key };

        var committed = await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 100));
        var expiring = await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 100));

        Assert.Equal(Now + 30_000, committed.ExpiresAtUnixMs);
        Assert.Equal(Now + 30_000, expiring.ExpiresAtUnixMs);

        // One millisecond before the TTL the holds are still open: a commit closes its hold (not late).
        _clock.Advance(TimeSpan.FromMilliseconds(29_999));
        var commit = await _silo.Admission.CommitAsync(new CommitRequest { ReservationId = committed.ReservationId, ActualNanos = 60 });
        Assert.False(commit.Late);
        Assert.Equal((100L, 1), await HeldAsync("tenant/" + key));

        // At the TTL the other one expires.
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await Build.EventuallyAsync(async () => await HeldAsync("tenant/" + key) == (0L, 0), TimeSpan.FromSeconds(30)));
        var release = await _silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = expiring.ReservationId });
        Assert.False(release.Released);
        Assert.Equal(60, (await _silo.Management.StatusAsync("feature/" + key)).SpentNanos);
    }

    [Fact]
    public async Task APolicyTtlCapsALongerRequestedTtlAndKeepsAShorterOne()
    {
        var key = Build.UniqueKey("cap");
        await SetPolicyAsync("agent/" + key, holdTtlMs: 30_000);
        var attribution = new Attribution { Tenant = key, Agent = key };

        var longer = await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 100, holdTtlMs: 600_000));
        var shorter = await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 100, holdTtlMs: 10_000));
        var unpoliced = await _silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = key }, 100, holdTtlMs: 600_000));
        var serverDefault = await _silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = key }, 100));

        Assert.Equal(Now + 30_000, longer.ExpiresAtUnixMs);
        Assert.Equal(Now + 10_000, shorter.ExpiresAtUnixMs);
        Assert.Equal(Now + 600_000, unpoliced.ExpiresAtUnixMs);
        Assert.Equal(Now + 5 * 60_000, serverDefault.ExpiresAtUnixMs);

        _clock.Advance(TimeSpan.FromMilliseconds(30_000));
        Assert.True(await Build.EventuallyAsync(async () => await HeldAsync("agent/" + key) == (0L, 0), TimeSpan.FromSeconds(30)));
        Assert.Equal((200L, 2), await HeldAsync("tenant/" + key));
    }

    [Fact]
    public async Task ATaskInheritsTheShorterOfFeatureAndAgentAndItsOwnTtlOverridesEvenWhenLonger()
    {
        var key = Build.UniqueKey("inherit");
        await SetPolicyAsync("feature/" + key, holdTtlMs: 60_000);
        await SetPolicyAsync("agent/" + key, holdTtlMs: 20_000);
        var attribution = new Attribution { Tenant = key, Feature = key, Agent = key, Task = "run-1" };

        var inherited = await ReserveInTaskAsync(attribution);
        await SetPolicyAsync($"task/{key}/run-1", holdTtlMs: 120_000);
        var overridden = await ReserveInTaskAsync(attribution);
        var otherTask = await ReserveInTaskAsync(new Attribution(attribution) { Task = "run-2" });

        Assert.Equal(Now + 20_000, inherited.ExpiresAtUnixMs);
        Assert.Equal(Now + 120_000, overridden.ExpiresAtUnixMs);
        Assert.Equal(Now + 20_000, otherTask.ExpiresAtUnixMs);
        var policy = await _silo.Management.GetTaskPolicyAsync(new GetTaskPolicyRequest { Scope = $"task/{key}/run-1" });
        Assert.Equal(120_000, policy.Policy.HoldTtlMs.Value);
    }

    [Theory]
    [InlineData(999)]
    [InlineData(3_600_001)]
    public async Task APolicyTtlOutsideOneSecondToOneHourIsRefusedAndChangesNothing(long holdTtlMs)
    {
        var scope = "feature/" + Build.UniqueKey("bad");
        await SetPolicyAsync(scope, holdTtlMs: 30_000);

        var error = await Assert.ThrowsAsync<RpcException>(() => SetPolicyAsync(scope, holdTtlMs));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("hold_ttl_ms", error.Status.Detail);
        Assert.Equal(30_000, (await _silo.Management.GetTaskPolicyAsync(new GetTaskPolicyRequest { Scope = scope })).Policy.HoldTtlMs.Value);
    }

    private Task<TaskPolicyStatus> SetPolicyAsync(string scope, long holdTtlMs) =>
        _silo.Management.SetTaskPolicyAsync(new SetTaskPolicyRequest { Scope = scope, Policy = new TaskPolicy { HoldTtlMs = new Limit { Value = holdTtlMs } } }).ResponseAsync;

    private Task<ReserveResponse> ReserveInTaskAsync(Attribution attribution)
    {
        var request = Build.Reserve(attribution, 100);
        request.Task = new TaskContext();
        return _silo.Admission.ReserveAsync(request).ResponseAsync;
    }

    private async Task<(long Held, int OpenHolds)> HeldAsync(string scope)
    {
        var status = await _silo.Management.StatusAsync(scope);
        return (status.HeldNanos, status.OpenHolds);
    }
}
