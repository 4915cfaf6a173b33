namespace BudgetGrains.Client;

/// <summary>
/// Money in BudgetGrains is <see cref="long"/> nanos of the budget's currency (1 USD = 1,000,000,000 nanos), never
/// floating point. These helpers convert from and to decimal dollars at the edges of an application.
/// </summary>
public static class Money
{
    /// <summary>Nanos in one unit of currency (one dollar).</summary>
    public const long NanosPerDollar = 1_000_000_000;

    /// <summary>Converts dollars to nanos exactly.</summary>
    /// <param name="dollars">An amount with at most 9 decimals, e.g. <c>0.042m</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The amount has more than 9 decimals or does not fit in nanos.</exception>
    public static long FromDollars(decimal dollars)
    {
        var nanos = dollars * NanosPerDollar;
        if (nanos != decimal.Truncate(nanos))
        {
            // Rounding would silently change what is held or charged; the caller decides how to round.
            throw new ArgumentOutOfRangeException(nameof(dollars), dollars, "more than 9 decimals: the smallest amount is 1 nano ($0.000000001)");
        }

        if (nanos is > long.MaxValue or < long.MinValue)
        {
            throw new ArgumentOutOfRangeException(nameof(dollars), dollars, "does not fit in 64-bit nanos");
        }

        return (long)nanos;
    }

    /// <summary>Converts nanos to dollars exactly.</summary>
    public static decimal ToDollars(long nanos) => (decimal)nanos / NanosPerDollar;

    /// <summary>
    /// Formats nanos with at least two and at most nine decimals: <c>$0.042</c>, <c>$5.00</c> for USD, <c>12.50 EUR</c>
    /// for other currencies, with a leading "-" for negative amounts.
    /// </summary>
    public static string Format(long nanos, string currency = "USD")
    {
        var number = Math.Abs(ToDollars(nanos)).ToString("0.00#######", System.Globalization.CultureInfo.InvariantCulture);
        var sign = nanos < 0 ? "-" : "";
        return currency is "" or "USD" ? $"{sign}${number}" : $"{sign}{number} {currency}";
    }
}
