using BudgetGrains.Grains.Settings;
using BudgetGrains.Server.Hosting;

namespace BudgetGrains.Server.Tests.Control;

/// <summary>BudgetGrains:UnknownScopes and BudgetGrains:DefaultBudgets as the command line, environment and appsettings give them.</summary>
public sealed class ScopeSettingsTests
{
    private static SiloOptions Parse(params string[] args)
    {
        var command = CommandLine.Parse(args, AppContext.BaseDirectory);
        Assert.True(command.Error is null, command.Error);
        return command.Options!;
    }

    [Fact]
    public void TheDefaultIsOpenWithoutDefaultBudgets()
    {
        var defaults = Parse().ScopeDefaults();

        Assert.Equal(UnknownScopesMode.Open, defaults.UnknownScopes);
        Assert.Empty(defaults.Budgets);
    }

    [Fact]
    public void ClosedAndADefaultBudgetPerKindAreRead()
    {
        var defaults = Parse("--BudgetGrains:UnknownScopes=closed", "--BudgetGrains:DefaultBudgets:feature:LimitNanos=50000000000",
            "--BudgetGrains:DefaultBudgets:feature:Period=month", "--BudgetGrains:DefaultBudgets:task:LimitNanos=1000000000").ScopeDefaults();

        Assert.Equal(UnknownScopesMode.Closed, defaults.UnknownScopes);
        var feature = defaults.DefaultFor("feature/search");
        Assert.NotNull(feature);
        Assert.Equal(("feature/search", 50_000_000_000L, BudgetGrains.Grains.Scopes.BudgetPeriod.Month, "USD"), (feature.Scope, feature.LimitNanos, feature.Period, feature.Currency));
        Assert.Equal([50, 80, 100], feature.ThresholdPercents);
        Assert.Equal(1_000_000_000L, defaults.DefaultFor("task/acme/run-1")!.LimitNanos);
        Assert.Null(defaults.DefaultFor("team/search"));
    }

    [Theory]
    [InlineData("--BudgetGrains:UnknownScopes=ajar", "BudgetGrains:UnknownScopes is 'ajar'; it must be open or closed")]
    [InlineData("--BudgetGrains:DefaultBudgets:widget:LimitNanos=1", "BudgetGrains:DefaultBudgets:widget: 'widget' is not a scope kind")]
    [InlineData("--BudgetGrains:DefaultBudgets:feature:Period=fortnight", "BudgetGrains:DefaultBudgets:feature:Period is 'fortnight'")]
    [InlineData("--BudgetGrains:DefaultBudgets:feature:Currency=XYZ", "BudgetGrains:DefaultBudgets:feature: currency 'XYZ' is not an ISO 4217 currency code")]
    [InlineData("--BudgetGrains:DefaultBudgets:feature:LimitNanos=-1", "BudgetGrains:DefaultBudgets:feature: limit_nanos must be between 0")]
    public void ABadSettingStopsTheSiloNamingIt(string arg, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Parse(arg).ScopeDefaults());

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownKeyOfADefaultBudgetIsRefusedByName()
    {
        var command = CommandLine.Parse(["--BudgetGrains:DefaultBudgets:feature:Limit=5"], AppContext.BaseDirectory);

        Assert.NotNull(command.Error);
        Assert.True(command.Error!.Contains("BudgetGrains:DefaultBudgets:<kind>:Limit", StringComparison.Ordinal), command.Error);
    }
}
