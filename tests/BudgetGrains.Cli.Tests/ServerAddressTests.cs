namespace BudgetGrains.Cli.Tests;

/// <summary>Where budgetctl connects when told, and when not.</summary>
public sealed class ServerAddressTests
{
    [Theory]
    [InlineData(null, "http://127.0.0.1:5080")]
    [InlineData("", "http://127.0.0.1:5080")]
    [InlineData("http://silo:9000", "http://silo:9000")]
    public void ServerDefaultsToTheEnvironmentThenLocal(string? environment, string expected) =>
        Assert.Equal(expected, ServerAddress.Default(environment));

    [Theory]
    [InlineData("127.0.0.1:5080", "http://127.0.0.1:5080/")]
    [InlineData("https://budgets.example.com", "https://budgets.example.com/")]
    public void ServerAcceptsUrlsAndBareHostPort(string text, string expected)
    {
        Assert.True(ServerAddress.TryParse(text, out var address));
        Assert.Equal(expected, address.ToString());
    }

    [Fact]
    public void ServerRejectsOtherSchemes() => Assert.False(ServerAddress.TryParse("ftp://x", out _));
}
