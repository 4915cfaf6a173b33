using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using ManagementClient = BudgetGrains.Contracts.V1.Management.ManagementClient;

namespace BudgetGrains.Load;

/// <summary>
/// One admission chain of the run and what the callers expect of it: the sum of what was charged
/// and the holds still open. Chains of a run are disjoint, so each scope's counters must match its chain's.
/// </summary>
internal sealed class Chain
{
    /// <summary>Generous: a run never gets near it ($1,000,000).</summary>
    public const long GenerousLimitNanos = 1_000_000_000_000_000;

    private long _chargedNanos;
    private long _admitted;

    private Chain(string[] scopes, string limitedScope, Attribution attribution)
    {
        (Scopes, LimitedScope, Attribution) = (scopes, limitedScope, attribution);
    }

    /// <summary>Every scope of the chain, root first (the order they are created in).</summary>
    public string[] Scopes { get; }

    /// <summary>The last scope the walk reaches; the one exhausted in the deny scenario.</summary>
    public string LimitedScope { get; }

    public Attribution Attribution { get; }

    public ConcurrentQueue<string> OpenHolds { get; } = new();

    public long ChargedNanos => Interlocked.Read(ref _chargedNanos);

    public long Admitted => Interlocked.Read(ref _admitted);

    public void OnAdmitted() => Interlocked.Increment(ref _admitted);

    public void OnCharged(long nanos) => Interlocked.Add(ref _chargedNanos, nanos);

    /// <summary>
    /// chainLength 0: the 5-scope attribution chain, walked agent → team → cost_center, feature, tenant.
    /// 1..8: named budgets b1 → b2 → ... → bL, walked from b1 to the root bL.
    /// </summary>
    public static Chain Create(string key, int chainLength)
    {
        if (chainLength == 0)
        {
            return new Chain(
                [$"cost_center/{key}", $"team/{key}", $"feature/{key}", $"agent/{key}", $"tenant/{key}"],
                $"tenant/{key}",
                new Attribution { Tenant = key, Feature = key, Agent = key });
        }
        var scopes = Enumerable.Range(1, chainLength).Reverse().Select(i => $"budget/{key}.b{i}").ToArray();
        var attribution = new Attribution();
        attribution.Budgets.Add($"{key}.b1");
        return new Chain(scopes, scopes[0], attribution);
    }

    /// <summary>Creates the budgets, parents first; the limited scope gets <paramref name="limitedNanos"/>.</summary>
    public async Task CreateBudgetsAsync(ManagementClient management, long limitedNanos)
    {
        foreach (var scope in Scopes)
        {
            await management.UpsertBudgetAsync(new UpsertBudgetRequest
            {
                Scope = scope,
                LimitNanos = scope == LimitedScope ? limitedNanos : GenerousLimitNanos,
                Period = Period.None,
                Parent = ParentOf(scope),
                Currency = "USD",
            });
        }
    }

    private string ParentOf(string scope)
    {
        var key = scope[(scope.IndexOf('/') + 1)..];
        if (scope.StartsWith("budget/", StringComparison.Ordinal))
        {
            var index = Array.IndexOf(Scopes, scope);
            return index == 0 ? "" : Scopes[index - 1];
        }
        return scope.Split('/')[0] switch
        {
            "team" => $"cost_center/{key}",
            "feature" or "agent" => $"team/{key}",
            _ => "",
        };
    }
}
