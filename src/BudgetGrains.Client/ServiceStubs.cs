using BudgetGrains.Contracts.V1;
using BudgetGrains.Grpc;
using Google.Protobuf.Reflection;

namespace BudgetGrains.Client.Protocol;

/// <summary>Stubs of budget.v1.Admission, one method per rpc, bound to the generated descriptors.</summary>
public sealed class AdmissionClient(GrpcChannel channel)
{
    private static readonly ServiceDescriptor Service = AdmissionReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Admission");
    private static readonly GrpcMethod<ReserveRequest, ReserveResponse> ReserveMethod = GrpcMethod<ReserveRequest, ReserveResponse>.From(Service, "Reserve");
    private static readonly GrpcMethod<CommitRequest, CommitResponse> CommitMethod = GrpcMethod<CommitRequest, CommitResponse>.From(Service, "Commit");
    private static readonly GrpcMethod<ReleaseRequest, ReleaseResponse> ReleaseMethod = GrpcMethod<ReleaseRequest, ReleaseResponse>.From(Service, "Release");
    private static readonly GrpcMethod<CheckRequest, CheckResponse> CheckMethod = GrpcMethod<CheckRequest, CheckResponse>.From(Service, "Check");
    private static readonly GrpcMethod<WatchBudgetsRequest, BudgetWatchUpdate> WatchMethod = GrpcMethod<WatchBudgetsRequest, BudgetWatchUpdate>.From(Service, "WatchBudgets");

    /// <summary>Before a model call: hold the estimate on the chain, or be denied.</summary>
    public Task<ReserveResponse> ReserveAsync(ReserveRequest request, CallOptions options = default) => channel.UnaryAsync(ReserveMethod, request, options);

    /// <summary>After the call: record what it cost.</summary>
    public Task<CommitResponse> CommitAsync(CommitRequest request, CallOptions options = default) => channel.UnaryAsync(CommitMethod, request, options);

    /// <summary>The call did not happen: remove the hold.</summary>
    public Task<ReleaseResponse> ReleaseAsync(ReleaseRequest request, CallOptions options = default) => channel.UnaryAsync(ReleaseMethod, request, options);

    /// <summary>Would a reserve be admitted? No side effects.</summary>
    public Task<CheckResponse> CheckAsync(CheckRequest request, CallOptions options = default) => channel.UnaryAsync(CheckMethod, request, options);

    /// <summary>Reserve, with the answer's status mark (the <c>budget-status-mark</c> trailer; 0 when the silo sent none).</summary>
    public async Task<(ReserveResponse Response, long StatusMark)> ReserveWithStatusMarkAsync(ReserveRequest request, CallOptions options = default)
    {
        var answer = await channel.UnaryWithTrailersAsync(ReserveMethod, request, options).ConfigureAwait(false);
        return (answer.Message, StatusMarkOf(answer.Trailers));
    }

    /// <summary>Commit, with the answer's status mark (the <c>budget-status-mark</c> trailer; 0 when the silo sent none).</summary>
    public async Task<(CommitResponse Response, long StatusMark)> CommitWithStatusMarkAsync(CommitRequest request, CallOptions options = default)
    {
        var answer = await channel.UnaryWithTrailersAsync(CommitMethod, request, options).ConfigureAwait(false);
        return (answer.Message, StatusMarkOf(answer.Trailers));
    }

    /// <summary>The budget status of a chain as it changes, until the call is cancelled; starts when enumerated.</summary>
    public IAsyncEnumerable<BudgetWatchUpdate> WatchBudgets(WatchBudgetsRequest request, CallOptions options = default) =>
        channel.ServerStreamingAsync(WatchMethod, request, options);

    private static long StatusMarkOf(IReadOnlyDictionary<string, string> trailers) =>
        trailers.TryGetValue("budget-status-mark", out var text)
        && long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var mark)
            ? mark
            : 0;
}

/// <summary>Stubs of budget.v1.Management.</summary>
public sealed partial class ManagementClient(GrpcChannel channel)
{
    private static readonly ServiceDescriptor Service = ManagementReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Management");
    private static readonly GrpcMethod<UpsertBudgetRequest, BudgetStatus> UpsertMethod = GrpcMethod<UpsertBudgetRequest, BudgetStatus>.From(Service, "UpsertBudget");
    private static readonly GrpcMethod<GetBudgetRequest, BudgetStatus> GetMethod = GrpcMethod<GetBudgetRequest, BudgetStatus>.From(Service, "GetBudget");
    private static readonly GrpcMethod<ListBudgetsRequest, ListBudgetsResponse> ListMethod = GrpcMethod<ListBudgetsRequest, ListBudgetsResponse>.From(Service, "ListBudgets");
    private static readonly GrpcMethod<SetTaskPolicyRequest, TaskPolicyStatus> SetPolicyMethod = GrpcMethod<SetTaskPolicyRequest, TaskPolicyStatus>.From(Service, "SetTaskPolicy");
    private static readonly GrpcMethod<GetTaskPolicyRequest, TaskPolicyStatus> GetPolicyMethod = GrpcMethod<GetTaskPolicyRequest, TaskPolicyStatus>.From(Service, "GetTaskPolicy");
    private static readonly GrpcMethod<EndTaskRequest, EndTaskResponse> EndTaskMethod = GrpcMethod<EndTaskRequest, EndTaskResponse>.From(Service, "EndTask");
    private static readonly GrpcMethod<DeleteBudgetRequest, DeleteBudgetResponse> DeleteBudgetMethod = GrpcMethod<DeleteBudgetRequest, DeleteBudgetResponse>.From(Service, "DeleteBudget");
    private static readonly GrpcMethod<FreezeBudgetRequest, BudgetStatus> FreezeBudgetMethod = GrpcMethod<FreezeBudgetRequest, BudgetStatus>.From(Service, "FreezeBudget");
    private static readonly GrpcMethod<FreezeBudgetRequest, BudgetStatus> UnfreezeBudgetMethod = GrpcMethod<FreezeBudgetRequest, BudgetStatus>.From(Service, "UnfreezeBudget");
    private static readonly GrpcMethod<ResetBudgetRequest, BudgetStatus> ResetBudgetMethod = GrpcMethod<ResetBudgetRequest, BudgetStatus>.From(Service, "ResetBudget");
    private static readonly GrpcMethod<ListPeriodsRequest, ListPeriodsResponse> ListPeriodsMethod = GrpcMethod<ListPeriodsRequest, ListPeriodsResponse>.From(Service, "ListPeriods");
    private static readonly GrpcMethod<GetUsageRequest, UsageReport> GetUsageMethod = GrpcMethod<GetUsageRequest, UsageReport>.From(Service, "GetUsage");

    /// <summary>Create or replace a scope's budget.</summary>
    public Task<BudgetStatus> UpsertBudgetAsync(UpsertBudgetRequest request, CallOptions options = default) => channel.UnaryAsync(UpsertMethod, request, options);

    /// <summary>A scope's budget and counters.</summary>
    public Task<BudgetStatus> GetBudgetAsync(GetBudgetRequest request, CallOptions options = default) => channel.UnaryAsync(GetMethod, request, options);

    /// <summary>A page of budgets.</summary>
    public Task<ListBudgetsResponse> ListBudgetsAsync(ListBudgetsRequest request, CallOptions options = default) => channel.UnaryAsync(ListMethod, request, options);

    /// <summary>Set the task guardrails of a feature, agent or task scope.</summary>
    public Task<TaskPolicyStatus> SetTaskPolicyAsync(SetTaskPolicyRequest request, CallOptions options = default) => channel.UnaryAsync(SetPolicyMethod, request, options);

    /// <summary>The task guardrails set on a scope.</summary>
    public Task<TaskPolicyStatus> GetTaskPolicyAsync(GetTaskPolicyRequest request, CallOptions options = default) => channel.UnaryAsync(GetPolicyMethod, request, options);

    /// <summary>End an agent task: its open holds are released, further calls denied.</summary>
    public Task<EndTaskResponse> EndTaskAsync(EndTaskRequest request, CallOptions options = default) => channel.UnaryAsync(EndTaskMethod, request, options);

    /// <summary>Remove a scope's budget; its counters and history stay.</summary>
    public Task<DeleteBudgetResponse> DeleteBudgetAsync(DeleteBudgetRequest request, CallOptions options = default) =>
        channel.UnaryAsync(DeleteBudgetMethod, request, options);

    /// <summary>Kill switch on.</summary>
    public Task<BudgetStatus> FreezeBudgetAsync(FreezeBudgetRequest request, CallOptions options = default) =>
        channel.UnaryAsync(FreezeBudgetMethod, request, options);

    /// <summary>Kill switch off.</summary>
    public Task<BudgetStatus> UnfreezeBudgetAsync(FreezeBudgetRequest request, CallOptions options = default) =>
        channel.UnaryAsync(UnfreezeBudgetMethod, request, options);

    /// <summary>Close the current period now.</summary>
    public Task<BudgetStatus> ResetBudgetAsync(ResetBudgetRequest request, CallOptions options = default) =>
        channel.UnaryAsync(ResetBudgetMethod, request, options);

    /// <summary>A page of a scope's closed periods.</summary>
    public Task<ListPeriodsResponse> ListPeriodsAsync(ListPeriodsRequest request, CallOptions options = default) =>
        channel.UnaryAsync(ListPeriodsMethod, request, options);

    /// <summary>A scope's usage in one period.</summary>
    public Task<UsageReport> GetUsageAsync(GetUsageRequest request, CallOptions options = default) =>
        channel.UnaryAsync(GetUsageMethod, request, options);

}
