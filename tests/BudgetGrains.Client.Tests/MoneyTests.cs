namespace BudgetGrains.Client.Tests;

public sealed class MoneyTests
{
    [Theory]
    [InlineData("1", 1_000_000_000L)]
    [InlineData("0.042", 42_000_000L)]
    [InlineData("0.000000001", 1L)]
    [InlineData("-2.5", -2_500_000_000L)]
    public void DollarsConvertToNanosExactlyAndBack(string dollars, long nanos)
    {
        var amount = decimal.Parse(dollars, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(nanos, Money.FromDollars(amount));
        Assert.Equal(amount, Money.ToDollars(nanos));
    }

    [Fact]
    public void MoreThanNineDecimalsIsRefusedRatherThanRounded() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Money.FromDollars(0.0000000001m));

    [Theory]
    [InlineData(0L, "$0.00")]
    [InlineData(42_000_000L, "$0.042")]
    [InlineData(5_000_000_000L, "$5.00")]
    [InlineData(25_000_000_000L, "$25.00")]
    [InlineData(1_500_000_000L, "$1.50")]
    [InlineData(12_345_678_000L, "$12.345678")]
    [InlineData(1L, "$0.000000001")]
    [InlineData(-1_500_000_000L, "-$1.50")]
    [InlineData(long.MaxValue, "$9223372036.854775807")]
    public void FormatShowsDollars(long nanos, string text) => Assert.Equal(text, Money.Format(nanos));

    [Fact]
    public void FormatShowsOtherCurrenciesByCode() => Assert.Equal("12.50 EUR", Money.Format(12_500_000_000L, "EUR"));
}
