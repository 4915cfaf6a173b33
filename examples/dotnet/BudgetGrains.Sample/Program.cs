// Wraps a fake model call with the BudgetGrains SDK: reserve before, commit after, release when the call throws,
// and stop when the budget denies. Usage: dotnet run --project examples/dotnet/BudgetGrains.Sample [-- http://127.0.0.1:5080]
using BudgetGrains.Client;
using BudgetGrains.Contracts.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Attribution = BudgetGrains.Client.Attribution;

var address = new Uri(args.Length > 0 ? args[0] : "http://127.0.0.1:5080");
var tenant = $"sample-{Guid.NewGuid():N}"[..20];
var limit = Money.FromDollars(0.01m);
// A silo that requires keys: an admin key for the demo setup below, which also may reserve for any tenant.
var apiKey = Environment.GetEnvironmentVariable("BUDGETGRAINS_API_KEY") is { Length: > 0 } key ? key.Trim() : null;

// Demo setup: an admin would run `budgetctl budgets set tenant/<tenant> --limit 0.01`.
using (var channel = GrpcChannel.ForAddress(address))
{
    var headers = apiKey is null ? null : new Grpc.Core.Metadata { { "authorization", "Bearer " + apiKey } };
    await new Management.ManagementClient(channel).UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "tenant/" + tenant, LimitNanos = limit }, headers);
}
Console.WriteLine($"budget tenant/{tenant}: limit {Money.Format(limit)}");

var services = new ServiceCollection()
    .AddLogging(logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Debug))
    .AddBudgetGrainsClient(o =>
    {
        o.Address = address;
        o.Timeout = TimeSpan.FromSeconds(2);
        o.ApiKey = apiKey;
    });
await using var provider = services.BuildServiceProvider();
var budgets = provider.GetRequiredService<BudgetClient>();

var attribution = new Attribution
{
    Tenant = tenant,
    Feature = "sample-summarize",
    Labels = new Dictionary<string, string> { ["model"] = "fake-model", ["environment"] = "sample" },
};
var estimate = Money.FromDollars(0.002m);
var spent = 0L;

for (var step = 1; ; step++)
{
    try
    {
        await using var hold = await budgets.ReserveAsync(attribution, estimate);
        if (!hold.Admitted)
        {
            Console.WriteLine($"step {step}: DENIED {hold.Reason} at {hold.DeniedScope}, remaining {Money.Format(hold.RemainingNanos ?? 0)}: stopping");
            break;
        }

        Console.WriteLine($"step {step}: ADMITTED {hold.ReservationId}, held {Money.Format(hold.HeldNanos)}, remaining {Money.Format(hold.RemainingNanos ?? 0)}");
        var cost = await FakeModelCallAsync(estimate, fail: step == 3);
        var commit = await hold.CommitAsync(cost, outcome: "resolved");
        spent += commit.ChargedNanos;
        Console.WriteLine($"step {step}: the call cost {Money.Format(cost)}; committed {Money.Format(commit.ChargedNanos)}");
    }
    catch (TimeoutException e)
    {
        // Leaving the `await using` block without a commit released the hold: nothing is spent for this call.
        Console.WriteLine($"step {step}: the model call failed ({e.Message}); its hold was released");
    }
}

Console.WriteLine($"spent {Money.Format(spent)} of {Money.Format(limit)}");

// Stands in for an LLM call: some latency, a cost between half the estimate and all of it; or a failure.
static async Task<long> FakeModelCallAsync(long estimate, bool fail)
{
    await Task.Delay(Random.Shared.Next(10, 50));
    if (fail) throw new TimeoutException("the model did not answer in time");
    return Random.Shared.NextInt64(estimate / 2, estimate + 1);
}
