using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Tests;

/// <summary>The hold TTL of a task policy: inheritance (the shorter wins), override, and how it meets a request's TTL.</summary>
public sealed class HoldTtlPolicyTests
{
    [Fact]
    public void TheStricterHoldTtlIsTheShorterAndATaskOverrideReplacesIt()
    {
        var inherited = TaskPolicy.Stricter(new TaskPolicy(HoldTtlMs: 60_000), new TaskPolicy(MaxDepth: 2, HoldTtlMs: 20_000));

        Assert.Equal(new TaskPolicy(MaxDepth: 2, HoldTtlMs: 20_000), inherited);
        Assert.Equal(new TaskPolicy(MaxDepth: 2, HoldTtlMs: 90_000), new TaskPolicy(HoldTtlMs: 90_000).Over(inherited));
        Assert.False(new TaskPolicy(HoldTtlMs: 1_000).IsEmpty);
    }

    [Theory]
    [InlineData(0L, null, Limits.DefaultHoldTtlMs)]
    [InlineData(0L, 30_000L, 30_000L)]
    [InlineData(600_000L, null, 600_000L)]
    [InlineData(600_000L, 30_000L, 30_000L)]
    [InlineData(10_000L, 30_000L, 10_000L)]
    public void ThePolicyTtlIsTheDefaultAndCapsTheRequest(long requested, long? policy, long expected) =>
        Assert.Equal(expected, new TaskPolicy(HoldTtlMs: policy).EffectiveHoldTtlMs(requested));

    [Theory]
    [InlineData(Limits.MinHoldTtlMs - 1)]
    [InlineData(Limits.MaxHoldTtlMs + 1)]
    public void AHoldTtlOutsideTheLimitsIsRefused(long ttl) =>
        Assert.Contains("hold_ttl_ms", new TaskPolicy(HoldTtlMs: ttl).Validate()!.Message);
}
