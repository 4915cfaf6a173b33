using System.Diagnostics.CodeAnalysis;
using System.Globalization;

using Money = BudgetGrains.Client.Money;

namespace BudgetGrains.Cli;

/// <summary>
/// Reads amounts as people type them ("25", "$0.042") into the int64 nanos the API counts in, with messages a
/// user can act on; showing amounts is <see cref="Money.Format"/>. Decimal arithmetic only: a float would turn
/// $0.1 into 99,999,999 nanos.
/// </summary>
public static class MoneyInput
{
    private const int MaxDecimals = 9;
    private const decimal NanosPerUnitDecimal = Money.NanosPerDollar;

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
            error = $"'{text}' is too large: at most {Money.Format(long.MaxValue)}";
            return false;
        }

        var total = dollars * NanosPerUnitDecimal + long.Parse(fraction.PadRight(MaxDecimals, '0'), NumberStyles.None, CultureInfo.InvariantCulture);
        if (total > long.MaxValue)
        {
            error = $"'{text}' is too large: at most {Money.Format(long.MaxValue)}";
            return false;
        }

        nanos = (long)total;
        error = null;
        return true;
    }
}
