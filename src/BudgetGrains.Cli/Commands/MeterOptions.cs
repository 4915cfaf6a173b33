using System.CommandLine;
using System.Globalization;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary>
/// Meter usage of a call, shared by reserve, check (the estimate) and commit (the actual): <c>--meter NAME=QUANTITY</c>,
/// repeatable. The server prices each from its meter catalog (budgetctl meters list) and adds it to the dollars or the
/// tokens given; a meter it does not know is refused, never $0.
/// </summary>
internal sealed class MeterOptions
{
    private readonly Option<List<MeterUsage>> _meters = new("--meter")
    {
        Description = "Meter usage, NAME=QUANTITY in the meter's units, e.g. --meter gpu_seconds=3600 (repeatable)",
        HelpName = "name=quantity",
        Arity = ArgumentArity.ZeroOrMore,
        CustomParser = result => [.. Pairs(result, "--meter", "0 or more", "gpu_seconds=3600").Select(p => new MeterUsage { Meter = p.Name, Quantity = p.Quantity })],
    };

    /// <summary>The NAME=QUANTITY tokens of a repeatable option (--meter, --meter-limit), each name once; a bad token is a
    /// parse error naming the option.</summary>
    public static List<(string Name, long Quantity)> Pairs(System.CommandLine.Parsing.ArgumentResult result, string option, string range, string example)
    {
        var pairs = new List<(string Name, long Quantity)>();
        foreach (var token in result.Tokens)
        {
            var equals = token.Value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !long.TryParse(token.Value.AsSpan(equals + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var quantity))
                result.AddError($"{option}: '{token.Value}' is not NAME=QUANTITY with a whole quantity {range} (e.g. {example})");
            else if (pairs.Exists(m => m.Name == token.Value[..equals]))
                result.AddError($"{option}: {token.Value[..equals]} is given twice; give each meter once");
            else pairs.Add((token.Value[..equals], quantity));
        }
        return pairs;
    }

    public void AddTo(Command command) => command.Add(_meters);

    /// <summary>Whether the command line gives a meter.</summary>
    public bool GivenIn(System.CommandLine.Parsing.CommandResult result) => result.GetResult(_meters) is not null;

    public List<MeterUsage> Read(ParseResult parse) => parse.GetValue(_meters) ?? [];
}
