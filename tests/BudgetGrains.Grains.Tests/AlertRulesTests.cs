using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Tests;

/// <summary>The retry schedule of alert deliveries and the bounds the alert code relies on.</summary>
public sealed class AlertRulesTests
{
    private static readonly AlertDeliveryPolicy Policy = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 50, TimeSpan.FromDays(1));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(5, 16)]
    [InlineData(9, 256)]
    [InlineData(10, 300)]
    [InlineData(49, 300)]
    [InlineData(1000, 300)]
    public void RetryDelayDoublesUpToTheCapAndJittersDownToHalf(int attempts, int fullSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(fullSeconds / 2.0), Policy.DelayAfter(attempts, 0));
        Assert.Equal(TimeSpan.FromSeconds(fullSeconds * 0.75), Policy.DelayAfter(attempts, 0.5));
        Assert.InRange(Policy.DelayAfter(attempts, 0.999999), TimeSpan.FromSeconds(fullSeconds * 0.99), TimeSpan.FromSeconds(fullSeconds));
    }

    [Fact]
    public void DeliveryIsGivenUpAfterTheAttemptsOrTheAge()
    {
        Assert.False(Policy.GivesUp(49, 1000));
        Assert.True(Policy.GivesUp(50, 1000));
        Assert.False(Policy.GivesUp(1, 86_399_999));
        Assert.True(Policy.GivesUp(1, 86_400_000));
    }

    [Fact]
    public void AlertBoundsAreConsistent()
    {
        Assert.True(Limits.MaxAlertsPerDeliveryBatch <= Limits.MaxPendingDeliveriesPerSink);
        Assert.InRange(AlertDeliveryPolicy.Default.MaxAttempts, 1, Limits.MaxDeliveryAttempts);
        Assert.Null(ScopeIds.Validate("task/" + new string('t', Limits.MaxScopeKeyLength) + "/" + new string('k', Limits.MaxScopeKeyLength)));
        Assert.Equal(Limits.MaxScopeIdLength, ("task/" + new string('t', Limits.MaxScopeKeyLength) + "/" + new string('k', Limits.MaxScopeKeyLength)).Length);
        Assert.True(AnomalyRules.MinBaselineMinutes <= AnomalyRules.BaselineMinutes);
        Assert.InRange(AnomalyRules.MinActiveRecentMinutes, 1, AnomalyRules.RecentMinutes);
    }
}
