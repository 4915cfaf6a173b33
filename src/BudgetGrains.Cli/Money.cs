using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace BudgetGrains.Cli;

/// <summary>
/// Converts between what people type and show ("25", "$0.042") and the int64 nanos the API counts in
/// (1 unit of currency = 1,000,000,000 nanos). Decimal arithmetic only: a float would turn $0.1 into 99,999,999 nanos.
/// </summary>
public static class Money
{
    /// <summary>Nanos in one unit of currency (one dollar).</summary>
    public const long NanosPerUnit = 1_000_000_000;

    private const int MaxDecimals = 9;
    private const decimal NanosPerUnitDecimal = NanosPerUnit;

    /// <summary>
    /// Parses a non-negative amount in dollars, optionally prefixed with "$", with at most 9 decimals,
    /// into nanos; on failure <paramref name="error"/> says what is wrong in words a user can act on.
    /// </summary>
    public static bool TryParseNanos(string? text, out long nanos, [NotNullWhen(false)] out string? error)
    {
        nanos = 0;
        var trimmed = (text ?? "").Trim();
        var digits = trimmed.StartsWith('$') ? trimmed[1..] : trimmed;
        if (digits.StartsWith('-') || trimmed.StartsWith("-$", StringComparison.Ordinal))
        {
            error = $"'{text}' is negative: an amount of money must be 0 or more";
            return false;
        }

        var point = digits.IndexOf('.', StringComparison.Ordinal);
        var whole = point < 0 ? digits : digits[..point];
        var fraction = point < 0 ? "" : digits[(point + 1)..];
        if (whole.Length + fraction.Length == 0 || !whole.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit))
        {
            error = $"'{text}' is not an amount of money: write dollars like 25, 25.00, 0.042 or $1.50";
            return false;
        }

        if (fraction.Length > MaxDecimals)
        {
            error = $"'{text}' has more than {MaxDecimals} decimals: the smallest amount is $0.000000001 (1 nano)";
            return false;
        }

        // Checked against long.MaxValue in dollars before multiplying, so the product can neither overflow decimal nor long.
        if (!decimal.TryParse(whole.Length == 0 ? "0" : whole, NumberStyles.None, CultureInfo.InvariantCulture, out var dollars)
            || dollars > long.MaxValue / NanosPerUnitDecimal)
        {
            error = $"'{text}' is too large: at most {Format(long.MaxValue)}";
            return false;
        }

        var total = dollars * NanosPerUnitDecimal + long.Parse(fraction.PadRight(MaxDecimals, '0'), NumberStyles.None, CultureInfo.InvariantCulture);
        if (total > long.MaxValue)
        {
            error = $"'{text}' is too large: at most {Format(long.MaxValue)}";
            return false;
        }

        nanos = (long)total;
        error = null;
        return true;
    }

    /// <summary>
    /// Shows nanos as money: "$12.345678" for USD (trailing zeros trimmed, at least 2 decimals),
    /// "12.50 EUR" for other currencies, a leading "-" for negative amounts.
    /// </summary>
    public static string Format(long nanos, string currency = "USD")
    {
        var amount = Math.Abs((decimal)nanos / NanosPerUnitDecimal);
        var number = amount.ToString("0.00#######", CultureInfo.InvariantCulture);
        var sign = nanos < 0 ? "-" : "";
        return currency is "" or "USD" ? $"{sign}${number}" : $"{sign}{number} {currency}";
    }
}
