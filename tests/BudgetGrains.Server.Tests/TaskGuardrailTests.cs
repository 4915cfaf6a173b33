using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests;

/// <summary>Agent tasks are stopped at exactly their guardrails: depth, retries, calls, spend; and can be ended.</summary>
[Collection(SiloCollection.Name)]
public sealed class TaskGuardrailTests(SiloFixture silo)
{
    private const long Estimate = 100;

    [Fact]
    public async Task RunawayRecursionIsStoppedAtMaxDepth()
    {
        var (attribution, task) = await AgentTaskAsync("depth", new TaskPolicy { MaxDepth = Limit(3) });

        var answers = new List<ReserveResponse>();
        for (var depth = 0; depth <= 10; depth++) answers.Add(await ReserveAsync(attribution, depth: depth));

        Assert.All(answers.Take(4), a => Assert.Equal(Decision.Admitted, a.Decision));
        Assert.All(answers.Skip(4), a => Assert.Equal((Decision.Denied, DenyReason.DepthLimit, task), (a.Decision, a.Reason, a.DeniedScope)));
        var status = await silo.Management.StatusAsync(task);
        Assert.Equal((4L, 3, 7L), (status.Calls, status.DepthMaxSeen, status.Denials));
    }

    [Fact]
    public async Task RetryStormIsStoppedAtMaxRetriesWhileFreshCallsGoOn()
    {
        var (attribution, task) = await AgentTaskAsync("retries", new TaskPolicy { MaxRetries = Limit(2) });

        var retries = new List<ReserveResponse>();
        for (var i = 0; i < 6; i++) retries.Add(await ReserveAsync(attribution, isRetry: true));
        var fresh = await ReserveAsync(attribution);

        Assert.Equal(2, retries.Count(a => a.Decision == Decision.Admitted));
        Assert.All(retries.Skip(2), a => Assert.Equal(DenyReason.RetryLimit, a.Reason));
        Assert.Equal(Decision.Admitted, fresh.Decision);
        Assert.Equal((3L, 2L), ((await silo.Management.StatusAsync(task)).Calls, (await silo.Management.StatusAsync(task)).Retries));
    }

    [Fact]
    public async Task ConcurrentCallsOfOneTaskAdmitExactlyMaxCalls()
    {
        var (attribution, task) = await AgentTaskAsync("calls", new TaskPolicy { MaxCalls = Limit(10) });

        var answers = new ConcurrentBag<ReserveResponse>();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 3; i++) answers.Add(await ReserveAsync(attribution));
        })));

        Assert.Equal(10, answers.Count(a => a.Decision == Decision.Admitted));
        Assert.All(answers.Where(a => a.Decision == Decision.Denied), a => Assert.Equal((DenyReason.CallLimit, task), (a.Reason, a.DeniedScope)));
        var status = await silo.Management.StatusAsync(task);
        Assert.Equal((10L, 10 * Estimate, 10), (status.Calls, status.HeldNanos, status.OpenHolds));
        Assert.Equal(10 * Estimate, (await silo.Management.StatusAsync("agent/" + attribution.Agent)).HeldNanos);
    }

    [Fact]
    public async Task TaskSpendCapCountsHoldsAndCommitsAndDeniesAsBudgetExhausted()
    {
        var (attribution, task) = await AgentTaskAsync("spend", new TaskPolicy { MaxSpendNanos = Limit(250) });

        var first = await ReserveAsync(attribution);
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = first.ReservationId, ActualNanos = 120 });
        var second = await ReserveAsync(attribution);
        var third = await ReserveAsync(attribution);
        var check = await silo.Admission.CheckAsync(new CheckRequest { Attribution = attribution, EstimateNanos = 31 });

        Assert.Equal(Decision.Admitted, second.Decision);
        Assert.Equal((Decision.Denied, DenyReason.BudgetExhausted, task, 30L), (third.Decision, third.Reason, third.DeniedScope, third.RemainingNanos));
        Assert.Equal((Decision.Denied, DenyReason.BudgetExhausted, task), (check.Decision, check.Reason, check.DeniedScope));
        // The denied call left nothing held anywhere on the chain.
        Assert.Equal(Estimate, (await silo.Management.StatusAsync("agent/" + attribution.Agent)).HeldNanos);
    }

    [Fact]
    public async Task TasksInheritTheStricterOfAgentAndFeatureAndATaskOverrideWins()
    {
        var key = Build.UniqueKey("inherit");
        var attribution = new Attribution { Tenant = key, Agent = key, Feature = key, Task = "run-1" };
        var task = $"task/{key}/run-1";
        await SetPolicyAsync("feature/" + key, new TaskPolicy { MaxDepth = Limit(5), MaxCalls = Limit(100) });
        await SetPolicyAsync("agent/" + key, new TaskPolicy { MaxDepth = Limit(2) });

        var tooDeep = await ReserveAsync(attribution, depth: 3);
        await SetPolicyAsync(task, new TaskPolicy { MaxDepth = Limit(4) });
        var deeperAfterOverride = await ReserveAsync(attribution, depth: 4);
        var otherTask = await ReserveAsync(new Attribution(attribution) { Task = "run-2" }, depth: 3);

        Assert.Equal(DenyReason.DepthLimit, tooDeep.Reason);
        Assert.Equal(Decision.Admitted, deeperAfterOverride.Decision);
        Assert.Equal(DenyReason.DepthLimit, otherTask.Reason);
        var policy = await silo.Management.GetTaskPolicyAsync(new GetTaskPolicyRequest { Scope = task });
        Assert.Equal((4L, null), (policy.Policy.MaxDepth.Value, policy.Policy.MaxCalls));
    }

    [Fact]
    public async Task EndingATaskReleasesItsOpenHoldsAndDeniesEverythingAfter()
    {
        var (attribution, task) = await AgentTaskAsync("end", new TaskPolicy());
        var open = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => ReserveAsync(attribution)));
        var committed = await ReserveAsync(attribution);
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = committed.ReservationId, ActualNanos = 40 });

        var ended = await silo.Management.EndTaskAsync(new EndTaskRequest { Scope = task });
        var after = await ReserveAsync(attribution);

        Assert.Equal(3, ended.ReleasedHolds);
        Assert.Equal((Decision.Denied, DenyReason.TaskEnded, task), (after.Decision, after.Reason, after.DeniedScope));
        foreach (var scope in (string[])[task, "agent/" + attribution.Agent, "tenant/" + attribution.Tenant])
        {
            var status = await silo.Management.StatusAsync(scope);
            Assert.Equal((40L, 0L, 0), (status.SpentNanos, status.HeldNanos, status.OpenHolds));
        }
        Assert.True((await silo.Management.StatusAsync(task)).Ended);
        Assert.All(open, o => Assert.Equal(Decision.Admitted, o.Decision));
    }

    [Theory]
    [InlineData("team/x", StatusCode.InvalidArgument)]
    [InlineData("tenant/x", StatusCode.InvalidArgument)]
    public async Task GuardrailsAreRefusedOnScopesThatHaveNoTasks(string scope, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => SetPolicyAsync(scope, new TaskPolicy { MaxCalls = Limit(1) }));
        var endOther = await Assert.ThrowsAsync<RpcException>(() => silo.Management.EndTaskAsync(new EndTaskRequest { Scope = scope }).ResponseAsync);

        Assert.Equal(expected, error.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, endOther.StatusCode);
    }

    private async Task<(Attribution Attribution, string TaskScope)> AgentTaskAsync(string name, TaskPolicy agentPolicy)
    {
        var key = Build.UniqueKey(name);
        await SetPolicyAsync("agent/" + key, agentPolicy);
        return (new Attribution { Tenant = key, Agent = key, Task = "run-1" }, $"task/{key}/run-1");
    }

    private Task SetPolicyAsync(string scope, TaskPolicy policy) =>
        silo.Management.SetTaskPolicyAsync(new SetTaskPolicyRequest { Scope = scope, Policy = policy }).ResponseAsync;

    private Task<ReserveResponse> ReserveAsync(Attribution attribution, int depth = 0, bool isRetry = false)
    {
        var request = Build.Reserve(attribution, Estimate);
        request.Task = new TaskContext { Depth = depth, IsRetry = isRetry };
        return silo.Admission.ReserveAsync(request).ResponseAsync;
    }

    private static Limit Limit(long value) => new() { Value = value };
}
