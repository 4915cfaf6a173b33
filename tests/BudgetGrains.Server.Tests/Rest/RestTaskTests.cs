using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>Task guardrails over REST: the policy is the body of a PUT, and ending a task releases its holds.</summary>
[Collection(SiloCollection.Name)]
public sealed class RestTaskTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    [Fact]
    public async Task PutSetsThePolicyThatGrpcReadsAndGetReturnsIt()
    {
        var agent = "agent/" + Build.UniqueKey("rest-policy");

        var put = await _rest.CallAsync<TaskPolicyStatus>(HttpMethod.Put, "api/v1/task-policies/" + agent,
            """{"maxDepth": {"value": "3"}, "max_calls": {"value": 50}}""");
        var viaGrpc = await silo.Management.GetTaskPolicyAsync(new GetTaskPolicyRequest { Scope = agent });
        var get = await _rest.CallAsync<TaskPolicyStatus>(HttpMethod.Get, "api/v1/task-policies/" + agent);

        Assert.Equal(agent, put.Scope);
        Assert.Equal((3L, 50L), (put.Policy.MaxDepth.Value, put.Policy.MaxCalls.Value));
        Assert.Null(put.Policy.MaxRetries);
        Assert.Equal(put, viaGrpc);
        Assert.Equal(put, get);
    }

    [Fact]
    public async Task PoliciesOnTheWrongScopeOrWithUnknownLimitsAreRefused()
    {
        var agent = "agent/" + Build.UniqueKey("rest-policy-bad");

        var onTeam = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/task-policies/team/search", 400, "INVALID_ARGUMENT", """{"maxDepth": {"value": 3}}""");
        var typo = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/task-policies/" + agent, 400, "INVALID_ARGUMENT", """{"maxDepht": {"value": 3}}""");
        var wrapped = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/task-policies/" + agent, 400, "INVALID_ARGUMENT", """{"policy": {"maxDepth": {"value": 3}}}""");
        var nestedTwice = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/task-policies/" + agent, 400, "INVALID_ARGUMENT", """{"maxDepth": {"value": 3}, "max_depth": {"value": 4}}""");
        var getOnTeam = await _rest.ErrorAsync(HttpMethod.Get, "api/v1/task-policies/team/search", 400, "INVALID_ARGUMENT");

        Assert.Contains("not on team", onTeam);
        Assert.Contains("maxDepht", typo);
        Assert.Contains("policy", wrapped);
        Assert.Equal("'max_depth' is given twice, as max_depth and maxDepth", nestedTwice);
        Assert.Contains("not on team", getOnTeam);
        Assert.Null((await silo.Management.GetTaskPolicyAsync(new GetTaskPolicyRequest { Scope = agent })).Policy?.MaxDepth);
    }

    [Fact]
    public async Task EndReleasesTheTasksOpenHoldsAndLaterCallsAreDenied()
    {
        var key = Build.UniqueKey("rest-end");
        var attribution = new Attribution { Tenant = key, Agent = key, Task = "run-1" };
        var task = $"task/{key}/run-1";
        for (var i = 0; i < 2; i++) Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(Build.Reserve(attribution, 100))).Decision);

        var ended = await _rest.CallAsync<EndTaskResponse>(HttpMethod.Post, $"api/v1/tasks/{task}:end");
        var after = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 100));
        var status = await _rest.CallAsync<BudgetStatus>(HttpMethod.Get, "api/v1/budgets/" + task);

        Assert.Equal(2, ended.ReleasedHolds);
        Assert.Equal((Decision.Denied, DenyReason.TaskEnded), (after.Decision, after.Reason));
        Assert.Equal((true, 0L, 0), (status.Ended, status.HeldNanos, status.OpenHolds));
        Assert.Equal(0, (await _rest.CallAsync<EndTaskResponse>(HttpMethod.Post, $"api/v1/tasks/{task}:end")).ReleasedHolds);
    }

    [Fact]
    public async Task EndOfAScopeThatIsNotATaskIsRefused()
    {
        var message = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/tasks/agent/planner:end", 400, "INVALID_ARGUMENT");

        Assert.Equal("agent/planner is not a task scope (task/...)", message);
    }

    public void Dispose() => _rest.Dispose();
}
