using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Tasks;

/// <summary>Cost per outcome counts every call of a task (retries and failed attempts included) under the outcome EndTask
/// recorded, by feature and by tenant, with exact sums and the stated rounding.</summary>
[Collection(SiloCollection.Name)]
public sealed class CostPerOutcomeTests(SiloFixture silo)
{
    [Fact]
    public async Task EveryCallRetryAndFailedAttemptOfATaskCountsUnderItsOutcome()
    {
        var (tenant, support, triage) = (Build.UniqueKey("t"), Build.UniqueKey("support"), Build.UniqueKey("triage"));
        var from = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1;

        // Resolved after a retry and a failed attempt (admitted, then released: the provider answered with an error).
        var a = Task("a");
        await CommitAsync(a, 1_000);
        await CommitAsync(a, 2_500, isRetry: true);
        await ReleaseAsync(a);
        await EndAsync(a, "resolved");
        // Resolved in one call priced from tokens: 10 input x 1,000 + 5 output x 4,000 = 30,000 nanos.
        var b = Task("b");
        var held = await ReserveAsync(b);
        await silo.Admission.CommitAsync(new CommitRequest
        {
            ReservationId = held.ReservationId, Usage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 10, OutputTokens = 5 },
        });
        await EndAsync(b, "resolved");
        // Failed: one paid call, one retry that never happened.
        var c = Task("c");
        await CommitAsync(c, 333);
        await ReleaseAsync(c, isRetry: true);
        await EndAsync(c, "failed");
        // Never ended: reported as open.
        var d = Task("d", triage);
        await CommitAsync(d, 1_000);

        var byFeature = await ReportAsync("feature", tenant, from);
        Assert.Equal(
        [
            Row(support, "failed", tasks: 1, cost: 333, inferences: 1, calls: 2, retries: 1, tokens: 0),
            Row(support, "resolved", tasks: 2, cost: 33_500, inferences: 3, calls: 4, retries: 1, tokens: 15),
            Row(triage, "open", tasks: 1, cost: 1_000, inferences: 1, calls: 1, retries: 0, tokens: 0),
        ], byFeature.Rows.Select(Shape));
        var resolved = byFeature.Rows[1];
        // 33,500 / 2 tasks; / 3 inferences = 11,166.67 rounds to 11,167; / 4 calls; x 1M / 15 tokens = 2,233,333,333.33.
        Assert.Equal((16_750L, 11_167L, 8_375L, 2_233_333_333L),
            (resolved.CostPerTaskNanos, resolved.CostPerInferenceNanos, resolved.CostPerApiCallNanos, resolved.CostPerMillionTokensNanos));
        Assert.Equal([(support, 3L, 33_833L), (triage, 1L, 1_000L)], byFeature.Totals.Select(t => (t.Key, t.Tasks, t.CostNanos)));
        Assert.Equal((4L, 34_833L, 8_708L), (byFeature.Total.Tasks, byFeature.Total.CostNanos, byFeature.Total.CostPerTaskNanos));
        Assert.False(byFeature.Truncated);

        var byTenant = await ReportAsync("tenant", tenant, from);
        Assert.Equal([(tenant, "failed", 1L, 333L), (tenant, "open", 1L, 1_000L), (tenant, "resolved", 2L, 33_500L)],
            byTenant.Rows.Select(r => (r.Key, r.Outcome, r.Tasks, r.CostNanos)));
        // The task's cost is its scope's committed spend: the ledger of its calls, exactly.
        Assert.Equal(3_500L, (await silo.Management.StatusAsync(a.Scope)).SpentNanos);

        // A range that ends before the tasks started reports none of them.
        var before = await silo.Management.GetCostPerOutcomeAsync(new GetCostPerOutcomeRequest
            { GroupBy = "tenant", Tenant = tenant, FromUnixMs = 1, ToUnixMs = from });
        Assert.Empty(before.Rows);
        Assert.Equal(0, before.Total.Tasks);

        TaskRef Task(string name, string? feature = null) =>
            new(new Attribution { Tenant = tenant, Feature = feature ?? support, Task = Build.UniqueKey(name) });
    }

    [Fact]
    public async Task AnOutcomeIsRecordedOnceAndMustBeOneLowerCaseWord()
    {
        var task = new TaskRef(new Attribution { Tenant = Build.UniqueKey("t"), Task = Build.UniqueKey("once") });
        await CommitAsync(task, 10);

        foreach (var bad in new[] { "Resolved", "open", "has space", new string('x', 65) })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => EndAsync(task, bad));
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        }
        Assert.False((await silo.Management.StatusAsync(task.Scope)).Ended);

        Assert.Equal("resolved", (await EndAsync(task, "resolved")).Outcome);
        Assert.Equal("resolved", (await EndAsync(task, "resolved")).Outcome);
        Assert.Equal("resolved", (await EndAsync(task, "")).Outcome);
        var changed = await Assert.ThrowsAsync<RpcException>(() => EndAsync(task, "failed"));
        Assert.Equal(StatusCode.FailedPrecondition, changed.StatusCode);

        var untold = new TaskRef(new Attribution { Tenant = Build.UniqueKey("t"), Task = Build.UniqueKey("untold") });
        Assert.Equal("ended", (await EndAsync(untold, "")).Outcome);
    }

    [Fact]
    public async Task BadReportRequestsAreRefused()
    {
        foreach (var request in new[]
        {
            new GetCostPerOutcomeRequest { GroupBy = "model" },
            new GetCostPerOutcomeRequest { GroupBy = "feature", Kind = "batch" },
            new GetCostPerOutcomeRequest { GroupBy = "feature", FromUnixMs = 10, ToUnixMs = 5 },
            new GetCostPerOutcomeRequest { GroupBy = "feature", Tenant = "not a key" },
        })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => silo.Management.GetCostPerOutcomeAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        }
    }

    private sealed record TaskRef(Attribution Attribution)
    {
        public string Scope => $"task/{Attribution.Tenant}/{Attribution.Task}";
    }

    private async Task<ReserveResponse> ReserveAsync(TaskRef task, bool isRetry = false)
    {
        var request = Build.Reserve(task.Attribution, 100_000);
        request.Task = new TaskContext { IsRetry = isRetry };
        var answer = await silo.Admission.ReserveAsync(request);
        Assert.Equal(Decision.Admitted, answer.Decision);
        return answer;
    }

    private async Task CommitAsync(TaskRef task, long actual, bool isRetry = false) =>
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = (await ReserveAsync(task, isRetry)).ReservationId, ActualNanos = actual });

    private async Task ReleaseAsync(TaskRef task, bool isRetry = false) =>
        await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = (await ReserveAsync(task, isRetry)).ReservationId });

    private Task<EndTaskResponse> EndAsync(TaskRef task, string outcome) =>
        silo.Management.EndTaskAsync(new EndTaskRequest { Scope = task.Scope, Outcome = outcome }).ResponseAsync;

    private Task<CostPerOutcomeReport> ReportAsync(string groupBy, string tenant, long from) =>
        silo.Management.GetCostPerOutcomeAsync(new GetCostPerOutcomeRequest { GroupBy = groupBy, Tenant = tenant, FromUnixMs = from }).ResponseAsync;

    private static (string, string, long, long, long, long, long, long) Row(string key, string outcome, long tasks, long cost, long inferences,
        long calls, long retries, long tokens) => (key, outcome, tasks, cost, inferences, calls, retries, tokens);

    private static (string, string, long, long, long, long, long, long) Shape(OutcomeCost r) =>
        (r.Key, r.Outcome, r.Tasks, r.CostNanos, r.Inferences, r.ApiCalls, r.Retries, r.Tokens);
}
