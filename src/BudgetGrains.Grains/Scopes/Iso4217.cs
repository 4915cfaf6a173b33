namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// The ISO 4217 currency codes a budget may be kept in: the active currencies and funds codes of the standard's list
/// one (as of 2025: XCG added, HRK withdrawn), shipped in code because the silo runs with InvariantGlobalization and
/// has no culture data to ask. Left out on purpose: precious metals (XAU, XAG, XPD, XPT), bond-market units
/// (XBA–XBD), XDR, XSU, XUA, and the test and "no currency" codes XTS and XXX: spend is not kept in those.
/// </summary>
public static class Iso4217
{
    public const string Default = "USD";

    public static readonly IReadOnlySet<string> Codes = new HashSet<string>(StringComparer.Ordinal)
    {
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
        "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF",
        "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
        "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR",
        "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
        "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
        "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
        "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP",
        "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
        "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF",
        "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
    };

    /// <summary>Null when <paramref name="code"/> is a code of <see cref="Codes"/>, else why not.</summary>
    public static string? Validate(string code)
    {
        if (Codes.Contains(code)) return null;
        var shown = ScopeIds.Truncate(code);
        return code.Length == 3 && code.All(char.IsAsciiLetter) && Codes.Contains(code.ToUpperInvariant())
            ? $"currency '{shown}' must be written in capitals: {code.ToUpperInvariant()}"
            : $"currency '{shown}' is not an ISO 4217 currency code (such as USD, EUR, JPY)";
    }
}
