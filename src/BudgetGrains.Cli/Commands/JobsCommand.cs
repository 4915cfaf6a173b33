using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl jobs start|report</c>: training and evaluation jobs with a pre-run estimate and a cap.</summary>
internal static class JobsCommand
{
    public static Command Create(GlobalOptions globals, Terminal terminal) => new("jobs", "Training and evaluation jobs: a cap that stops them at a checkpoint, estimates against actuals")
    {
        Start(globals, terminal),
        Report(globals, terminal),
    };

    private static Command Start(GlobalOptions globals, Terminal terminal)
    {
        var tenant = new Argument<string>("tenant") { Description = "The tenant the job runs for" };
        var job = new Argument<string>("job") { Description = "The job's id: its scope is task/<tenant>/<job>, and its reserves name it as the task" };
        var estimate = Options.Amount("--estimate", "What the whole job should cost, in dollars, compared with the actual in `jobs report`", required: true);
        var cap = Options.Amount("--cap", "The most the job may spend, in dollars: the limit of its task scope's budget [default: its budget as it is]");
        var feature = new Option<string>("--feature") { Description = "The feature it runs for (reports group by it)", HelpName = "feature" };
        var agent = new Option<string>("--agent") { Description = "The agent that runs it", HelpName = "agent" };
        var command = new Command("start", "Start a job: record its estimate and set its cap") { tenant, job, estimate, cap, feature, agent };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new StartJobRequest
            {
                Tenant = parse.GetRequiredValue(tenant), Job = parse.GetRequiredValue(job), EstimateNanos = parse.GetValue(estimate),
                CapNanos = parse.GetValue(cap), Feature = parse.GetValue(feature) ?? "", Agent = parse.GetValue(agent) ?? "",
            };
            session.Output.JobStarted(await session.Management.StartJobAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Report(GlobalOptions globals, Terminal terminal)
    {
        var (from, to) = TasksCommand.TimeRange("jobs started");
        var tenant = new Option<string>("--tenant") { Description = "Only this tenant's jobs", HelpName = "tenant" };
        var command = new Command("report", "Each job's pre-run estimate, its intervals' estimates and its actual cost") { from, to, tenant };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = globals.Open(parse, terminal);
            var request = new GetJobReportRequest
            {
                FromUnixMs = TasksCommand.From(parse, from), ToUnixMs = parse.GetValue(to), Tenant = parse.GetValue(tenant) ?? "", PageSize = 1000,
            };
            var jobs = new List<Job>();
            do
            {
                var page = await session.Management.GetJobReportAsync(request, session.Call(cancellationToken));
                foreach (var j in page.Jobs) session.Output.JobRow(j, jobs);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            session.Output.Jobs(jobs);
            return Cli.Ok;
        });
        return command;
    }
}
