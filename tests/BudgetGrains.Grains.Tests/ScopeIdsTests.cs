using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Tests;

public sealed class ScopeIdsTests
{
    [Theory]
    [InlineData("tenant/acme")]
    [InlineData("team/search")]
    [InlineData("cost_center/cc-1234")]
    [InlineData("budget/project:search-rerank")]
    [InlineData("task/acme/run-42")]
    [InlineData("feature/a.b_c:d-e")]
    public void WellFormedScopesAreAccepted(string scope) => Assert.Null(ScopeIds.Validate(scope));

    [Theory]
    [InlineData("", "not of the form kind/key")]
    [InlineData("acme", "not of the form kind/key")]
    [InlineData("/acme", "not of the form kind/key")]
    [InlineData("teams/search", "kind 'teams' is unknown")]
    [InlineData("team/", "scope key is empty")]
    [InlineData("team/a b", "has ' '")]
    [InlineData("team/a/b", "has '/'")]
    [InlineData("task/acme/run/42", "has '/'")]
    public void MalformedScopesSayWhy(string scope, string why) => Assert.Contains(why, ScopeIds.Validate(scope));

    [Fact]
    public void OverLongKeyIsRejected() =>
        Assert.Contains("the limit is 128", ScopeIds.Validate("team/" + new string('k', Limits.MaxScopeKeyLength + 1)));

    [Fact]
    public void NamedScopesComeLeafFirstWithTasksNamespacedByTenant()
    {
        var attribution = new Attribution("acme", "search", "planner", "run-42", "search-team", "cc-1", ["b1", "b2"]);

        Assert.Equal(
            ["task/acme/run-42", "agent/planner", "feature/search", "tenant/acme", "budget/b1", "budget/b2", "team/search-team", "cost_center/cc-1"],
            attribution.NamedScopes());
    }
}
