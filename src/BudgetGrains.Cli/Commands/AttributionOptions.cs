using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary>Who a call is attributed to, shared by reserve and check: each option names one scope of the admission chain.</summary>
internal sealed class AttributionOptions
{
    private readonly Option<string> _tenant = new("--tenant") { Description = "Tenant: scope tenant/<tenant>" };
    private readonly Option<string> _feature = new("--feature") { Description = "Feature: scope feature/<feature>" };
    private readonly Option<string> _agent = new("--agent") { Description = "Agent: scope agent/<agent>" };
    private readonly Option<string> _task = new("--task") { Description = "Agent task: scope task/<tenant>/<task>" };
    private readonly Option<string> _team = new("--team") { Description = "Team, when not reached through the feature's or agent's parent" };
    private readonly Option<string> _costCenter = new("--cost-center") { Description = "Cost center, when not reached through parents" };
    private readonly Option<string[]> _budgets = new("--budget") { Description = "Extra named budget (budget/<name>); repeatable", HelpName = "name" };
    private readonly Option<Dictionary<string, string>> _labels = Options.Pairs("--label", "Recorded on the ledger (model, environment, user...); repeatable");

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _tenant, _feature, _agent, _task, _team, _costCenter, _budgets, _labels })
        {
            command.Add(option);
        }
    }

    public Attribution Read(ParseResult parse)
    {
        var attribution = new Attribution
        {
            Tenant = parse.GetValue(_tenant) ?? "",
            Feature = parse.GetValue(_feature) ?? "",
            Agent = parse.GetValue(_agent) ?? "",
            Task = parse.GetValue(_task) ?? "",
            Team = parse.GetValue(_team) ?? "",
            CostCenter = parse.GetValue(_costCenter) ?? "",
        };
        attribution.Budgets.AddRange(parse.GetValue(_budgets) ?? []);
        attribution.Labels.Add(parse.GetValue(_labels) ?? []);
        return attribution;
    }
}
