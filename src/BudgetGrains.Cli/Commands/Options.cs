using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace BudgetGrains.Cli.Commands;

/// <summary>Option builders for values the API needs in its own shape: money in nanos, comma lists, key=value pairs.</summary>
internal static class Options
{
    /// <summary>An amount typed in dollars, parsed to nanos; a bad amount is a usage error naming the option.</summary>
    public static Option<long> Amount(string name, string description, bool required = false) => new(name)
    {
        Description = description,
        HelpName = "dollars",
        Required = required,
        CustomParser = result =>
        {
            if (MoneyInput.TryParseNanos(result.Tokens[0].Value, out var nanos, out var error)) return nanos;
            result.AddError($"{name}: {error}");
            return 0; // never used: the parse error stops the command before it runs
        },
    };

    /// <summary>A duration such as "30s", "5m", "1h" or "1500ms", parsed to milliseconds.</summary>
    public static Option<long> Duration(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "duration",
        CustomParser = result =>
        {
            if (TryParseMilliseconds(result.Tokens[0].Value, out var ms)) return ms;
            result.AddError($"{name}: '{result.Tokens[0].Value}' is not a duration (write e.g. 30s, 5m, 1h or 1500ms)");
            return 0; // never used: the parse error stops the command before it runs
        },
    };

    /// <summary>Milliseconds of "&lt;whole number&gt;&lt;unit&gt;", unit one of ms, s, m, h.</summary>
    public static bool TryParseMilliseconds(string text, out long milliseconds)
    {
        milliseconds = 0;
        var digits = text.AsSpan().IndexOfAnyExcept("0123456789");
        if (digits <= 0) return false;
        long unit = text[digits..] switch { "ms" => 1, "s" => 1_000, "m" => 60_000, "h" => 3_600_000, _ => 0 };
        if (unit == 0 || !long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var count)) return false;
        if (count > long.MaxValue / unit) return false;
        milliseconds = count * unit;
        return true;
    }

    /// <summary>Comma-separated whole numbers, e.g. "50,80,100".</summary>
    public static Option<int[]> IntList(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var parts = result.Tokens[0].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var values = new int[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
                {
                    result.AddError($"{name}: '{parts[i]}' is not a whole number 0 or more (write e.g. 50,80,100)");
                }
            }

            return values;
        },
    };

    /// <summary>Repeatable "key=value" pairs, e.g. --label model=gpt-4o --label env=prod.</summary>
    public static Option<Dictionary<string, string>> Pairs(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "key=value",
        Arity = ArgumentArity.ZeroOrMore,
        CustomParser = result =>
        {
            var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var token in result.Tokens)
            {
                var equals = token.Value.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0) result.AddError($"{name}: '{token.Value}' is not key=value");
                else pairs[token.Value[..equals]] = token.Value[(equals + 1)..];
            }

            return pairs;
        },
    };

    /// <summary>A point in time typed as a UTC date ("2026-11-01", its midnight) or an ISO 8601 instant with an offset
    /// ("2026-11-01T10:00:00Z"), parsed to Unix milliseconds.</summary>
    public static Option<long> Instant(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "date",
        CustomParser = result =>
        {
            if (TryParseInstant(result.Tokens[0].Value, out var ms)) return ms;
            result.AddError($"{name}: '{result.Tokens[0].Value}' is not a date (write 2026-11-01, or 2026-11-01T10:00:00Z)");
            return 0; // never used: the parse error stops the command before it runs
        },
    };

    public static bool TryParseInstant(string text, out long unixMs)
    {
        unixMs = 0;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            unixMs = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
            return unixMs >= 0;
        }
        // An instant needs its offset: "10:00" alone would be read in the machine's time zone.
        if (!text.Contains('T', StringComparison.Ordinal) || !(text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > text.IndexOf('T', StringComparison.Ordinal)))
            return false;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant)) return false;
        unixMs = instant.ToUnixTimeMilliseconds();
        return unixMs >= 0;
    }

    /// <summary>A string option that must be one of <paramref name="values"/>; the first is the default unless it is required.</summary>
    public static Option<string> OneOf(string name, string description, bool required, params string[] values)
    {
        var option = new Option<string>(name) { Description = description, HelpName = string.Join('|', values), Required = required };
        if (!required) option.DefaultValueFactory = _ => values[0];
        option.Validators.Add(result =>
        {
            var given = result.GetValueOrDefault<string>();
            if (!values.Contains(given)) result.AddError($"{name}: '{given}' is not one of {string.Join(", ", values)}");
        });
        return option;
    }
}
