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
}
