using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary>
/// Token usage of a model call, shared by reserve, check (the estimate) and commit (the actual): the server prices it
/// from its price catalog, so that a call can be reserved and committed in tokens instead of dollars. An amount in
/// dollars and token counts are two ways to say the same thing: one of them, not both.
/// </summary>
internal sealed class UsageOptions(string amountOption)
{
    private readonly Option<string> _model = new("--model") { Description = "Model whose price counts the tokens (budgetctl prices list)" };
    private readonly Option<long> _input = Tokens("--input-tokens", "Input (prompt) tokens");
    private readonly Option<long> _cached = Tokens("--cached-input-tokens", "Of the input tokens, those read from the provider's prompt cache");
    private readonly Option<long> _output = Tokens("--output-tokens", "Output (completion) tokens");
    private readonly Option<long> _reasoning = Tokens("--reasoning-tokens", "Reasoning tokens billed besides the output");

    private IEnumerable<Option<long>> Counts => [_input, _cached, _output, _reasoning];

    public void AddTo(Command command, Option<long> amount)
    {
        command.Add(_model);
        foreach (var option in Counts) command.Add(option);
        command.Validators.Add(result =>
        {
            var counted = Counts.Any(option => result.GetResult(option) is not null);
            var model = result.GetResult(_model) is not null;
            if (counted && !model) result.AddError("token counts need --model: the price catalog prices tokens by model");
            else if (model && !counted) result.AddError("--model needs token counts (--input-tokens, --output-tokens...)");
            else if (model && result.GetResult(amount) is not null) result.AddError($"give {amountOption} or --model with token counts, not both");
        });
    }

    /// <summary>Whether the command line gives a model (its token counts are then checked to be there too).</summary>
    public bool GivenIn(System.CommandLine.Parsing.CommandResult result) => result.GetResult(_model) is not null;

    /// <summary>The usage given, or null when the amount is in dollars.</summary>
    public TokenUsage? Read(ParseResult parse) => parse.GetValue(_model) is { Length: > 0 } model
        ? new TokenUsage
        {
            Model = model,
            InputTokens = parse.GetValue(_input),
            CachedInputTokens = parse.GetValue(_cached),
            OutputTokens = parse.GetValue(_output),
            ReasoningTokens = parse.GetValue(_reasoning),
        }
        : null;

    private static Option<long> Tokens(string name, string description)
    {
        var option = new Option<long>(name) { Description = description, HelpName = "n" };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < 0) result.AddError($"{name} cannot be negative");
        });
        return option;
    }
}
