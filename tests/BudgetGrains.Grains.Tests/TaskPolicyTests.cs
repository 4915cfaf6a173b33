using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Tests;

public sealed class TaskPolicyTests
{
    [Fact]
    public void StricterTakesTheSmallerOfEachLimitAndKeepsLimitsSetOnOneSideOnly()
    {
        var feature = new TaskPolicy(MaxDepth: 5, MaxCalls: 100);
        var agent = new TaskPolicy(MaxDepth: 3, MaxRetries: 2);

        Assert.Equal(new TaskPolicy(MaxDepth: 3, MaxRetries: 2, MaxCalls: 100), TaskPolicy.Stricter(feature, agent));
    }

    [Fact]
    public void ATaskOverrideReplacesOnlyTheLimitsItSetsEvenWithALooserValue()
    {
        var inherited = new TaskPolicy(MaxDepth: 3, MaxRetries: 2, MaxCalls: 10);
        var taskOverride = new TaskPolicy(MaxCalls: 50, MaxRetries: 0);

        Assert.Equal(new TaskPolicy(MaxDepth: 3, MaxRetries: 0, MaxCalls: 50), taskOverride.Over(inherited));
    }

    [Theory]
    [InlineData(-1L, null, null, "max_depth")]
    [InlineData(null, -1L, null, "max_retries")]
    [InlineData(null, null, -1L, "max_calls")]
    public void NegativeLimitsAreRefused(long? depth, long? retries, long? calls, string field) =>
        Assert.Contains(field, new TaskPolicy(depth, retries, calls).Validate()!.Message);
}
