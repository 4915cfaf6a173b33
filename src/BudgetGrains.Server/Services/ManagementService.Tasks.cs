using BudgetGrains.Server.Tasks;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>The task rpcs of budget.v1.Management: GetCostPerOutcome, StartJob, GetJobReport.</summary>
internal sealed partial class ManagementService
{
    /// <summary>Reports over the task table; set by the silo when it builds the service.</summary>
    public TaskReports Tasks { get; init; } = null!;

    public override Task<V1.CostPerOutcomeReport> GetCostPerOutcome(V1.GetCostPerOutcomeRequest request, ServerCallContext context) =>
        Tasks.CostPerOutcomeAsync(request, context.CancellationToken);

    public override Task<V1.Job> StartJob(V1.StartJobRequest request, ServerCallContext context) => Tasks.StartJobAsync(request);

    public override Task<V1.JobReport> GetJobReport(V1.GetJobReportRequest request, ServerCallContext context) =>
        Tasks.JobReportAsync(request, context.CancellationToken);
}
