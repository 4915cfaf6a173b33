namespace BudgetGrains.Cli.Tests;

/// <summary>Dollars to nanos exactly, and back.</summary>
public sealed class MoneyTests
{
    [Theory]
    [InlineData("25", 25_000_000_000L)]
    [InlineData("25.00", 25_000_000_000L)]
    [InlineData("0.042", 42_000_000L)]
    [InlineData("$1.5", 1_500_000_000L)]
    [InlineData(" $0.1 ", 100_000_000L)]
    [InlineData("0.000000001", 1L)]
    [InlineData(".5", 500_000_000L)]
    [InlineData("0", 0L)]
    [InlineData("9223372036.854775807", long.MaxValue)]
    public void ParsesDollarsToExactNanos(string text, long expected)
    {
        Assert.True(MoneyInput.TryParseNanos(text, out var nanos, out var error), error);
        Assert.Equal(expected, nanos);
    }

    [Theory]
    [InlineData("-1", "is negative")]
    [InlineData("-$1", "is negative")]
    [InlineData("$-0.5", "is negative")]
    [InlineData("0.0000000001", "more than 9 decimals")]
    [InlineData("abc", "is not an amount of money")]
    [InlineData("", "is not an amount of money")]
    [InlineData("$", "is not an amount of money")]
    [InlineData("1,000", "is not an amount of money")]
    [InlineData("1e3", "is not an amount of money")]
    [InlineData("1.2.3", "is not an amount of money")]
    [InlineData("9223372036.854775808", "is too large")]
    [InlineData("99999999999999999999999999999999", "is too large")]
    public void RejectsWhatIsNotAnExactNonNegativeAmount(string text, string reason)
    {
        Assert.False(MoneyInput.TryParseNanos(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
