using System.CommandLine;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary><c>budgetctl reserve|commit|release|check</c>: the data plane, one command per rpc.</summary>
internal static class AdmissionCommands
{
    public static IEnumerable<Command> Create(GlobalOptions globals, Terminal terminal) =>
        [Reserve(globals, terminal), Commit(globals, terminal), Release(globals, terminal), Check(globals, terminal)];

    private static Command Reserve(GlobalOptions globals, Terminal terminal)
    {
        var attribution = new AttributionOptions();
        var estimate = Options.Amount("--estimate", "Estimated cost in dollars, e.g. 0.05 [default: priced from --model and token " +
            "counts and --meter; with none, the feature's learned estimate]");
        var usage = new UsageOptions("--estimate");
        var meters = new MeterOptions();
        var requestId = new Option<string>("--request-id") { Description = "Idempotency key; repeating it repeats the answer [default: a new one, printed]", HelpName = "id" };
        var ttl = new Option<long>("--ttl-ms") { Description = "How long the hold lives if not committed or released [default: the server's, 5 min]", HelpName = "ms" };
        var command = new Command("reserve", "Hold an estimated cost before a model call, or be denied (a deny exits 0)")
        {
            estimate, requestId, ttl,
        };
        attribution.AddTo(command);
        usage.AddTo(command, estimate);
        meters.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new ReserveRequest
            {
                RequestId = parse.GetValue(requestId) ?? "cli-" + Guid.NewGuid().ToString("N"),
                Attribution = attribution.Read(parse),
                EstimateNanos = parse.GetValue(estimate),
                HoldTtlMs = parse.GetValue(ttl),
                EstimateUsage = usage.Read(parse),
                EstimateMeters = { meters.Read(parse) },
            };
            using var session = globals.Open(parse, terminal);
            session.Output.Reserved(await session.Admission.ReserveAsync(request, session.Call(cancellationToken)), request.RequestId, request.EstimateMeters);
            return Cli.Ok;
        });
        return command;
    }

    private static Command Commit(GlobalOptions globals, Terminal terminal)
    {
        var reservation = new Argument<string>("reservation-id") { Description = "From reserve" };
        var actual = Options.Amount("--actual", "What the call really cost, in dollars, e.g. 0.042 (or --model with token counts, and/or --meter)");
        var usage = new UsageOptions("--actual");
        var meters = new MeterOptions();
        var outcome = new Option<string>("--outcome") { Description = "Recorded on the ledger for cost per outcome: resolved, accepted, failed...", HelpName = "label" };
        var command = new Command("commit", "Record what a reserved call really cost") { reservation, actual, outcome };
        usage.AddTo(command, actual);
        meters.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetResult(actual) is null && !usage.GivenIn(result) && !meters.GivenIn(result))
                result.AddError("give --actual, or --model with token counts, or --meter");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new CommitRequest
            {
                ReservationId = parse.GetRequiredValue(reservation),
                ActualNanos = parse.GetValue(actual),
                Outcome = parse.GetValue(outcome) ?? "",
                Usage = usage.Read(parse),
                Meters = { meters.Read(parse) },
            };
            using var session = globals.Open(parse, terminal);
            session.Output.Committed(request.ReservationId, await session.Admission.CommitAsync(request, session.Call(cancellationToken)), request.Meters);
            return Cli.Ok;
        });
        return command;
    }

    private static Command Release(GlobalOptions globals, Terminal terminal)
    {
        var reservation = new Argument<string>("reservation-id") { Description = "From reserve" };
        var command = new Command("release", "The reserved call did not happen: remove the hold, spend nothing") { reservation };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new ReleaseRequest { ReservationId = parse.GetRequiredValue(reservation) };
            using var session = globals.Open(parse, terminal);
            session.Output.Released(request.ReservationId, await session.Admission.ReleaseAsync(request, session.Call(cancellationToken)));
            return Cli.Ok;
        });
        return command;
    }

    private static Command Check(GlobalOptions globals, Terminal terminal)
    {
        var attribution = new AttributionOptions();
        var estimate = Options.Amount("--estimate", "Estimated cost in dollars, e.g. 0.05 (or --model with token counts, and/or --meter)");
        var usage = new UsageOptions("--estimate");
        var meters = new MeterOptions();
        var command = new Command("check", "Would a reserve be admitted now, and what remains? Changes nothing") { estimate };
        attribution.AddTo(command);
        usage.AddTo(command, estimate);
        meters.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetResult(estimate) is null && !usage.GivenIn(result) && !meters.GivenIn(result))
                result.AddError("give --estimate, or --model with token counts, or --meter");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new CheckRequest
            {
                Attribution = attribution.Read(parse),
                EstimateNanos = parse.GetValue(estimate),
                EstimateUsage = usage.Read(parse),
                EstimateMeters = { meters.Read(parse) },
            };
            using var session = globals.Open(parse, terminal);
            session.Output.Checked(await session.Admission.CheckAsync(request, session.Call(cancellationToken)), request.EstimateMeters);
            return Cli.Ok;
        });
        return command;
    }
}
