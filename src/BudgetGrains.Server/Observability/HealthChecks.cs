using System.Text.Json;
using BudgetGrains.Grains.Journal;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace BudgetGrains.Server.Observability;

/// <summary>
/// Whether the journal takes writes: one real write through it (the state of <c>health/journal-probe</c>, a row of
/// grain_state), at most once a second, the answer cached in between. A store that refuses writes (read-only file,
/// full disk, a lock held by someone else past the busy timeout) makes the silo not ready until a probe succeeds again.
/// </summary>
internal sealed class JournalHealthCheck(JournalService journal, TimeProvider clock) : IHealthCheck
{
    public const string Name = "journal";

    /// <summary>A probe not durable within this is a journal that does not take writes now.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private static readonly StateKey ProbeKey = new("health", "journal-probe");

    private readonly SemaphoreSlim _one = new(1, 1);
    private (DateTimeOffset At, HealthCheckResult Result)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (Fresh() is { } cached) return cached;
        await _one.WaitAsync(cancellationToken);
        try
        {
            if (Fresh() is { } again) return again;
            var now = clock.GetUtcNow();
            var write = journal.AppendAsync(new JournalWrite(ProbeKey, JsonSerializer.SerializeToUtf8Bytes(now.ToUnixTimeMilliseconds()), []));
            var finished = await Task.WhenAny(write, Task.Delay(ProbeTimeout, cancellationToken));
            HealthCheckResult result;
            if (finished != write) result = HealthCheckResult.Unhealthy($"a journal write was not durable within {ProbeTimeout.TotalSeconds:F0} s");
            else if (write.IsCompletedSuccessfully) result = HealthCheckResult.Healthy("the journal takes writes");
            else result = HealthCheckResult.Unhealthy("the journal does not take writes: " + write.Exception?.GetBaseException().Message);
            _last = (clock.GetUtcNow(), result);
            return result;
        }
        finally
        {
            _one.Release();
        }
    }

    private HealthCheckResult? Fresh() =>
        _last is { } last && clock.GetUtcNow() - last.At < CacheFor ? last.Result : null;
}

/// <summary>Whether this silo is an active member of its cluster (Orleans' membership view of itself).</summary>
internal sealed class MembershipHealthCheck(IClusterMembershipService membership, ILocalSiloDetails local) : IHealthCheck
{
    public const string Name = "membership";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(local.SiloAddress);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy("active in the cluster")
            : HealthCheckResult.Unhealthy($"cluster membership status is {status}"));
    }
}
