using BudgetGrains.Grains.Meters;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;
using static BudgetGrains.Server.Services.ProtoMapping;
using static BudgetGrains.Server.Services.MeterMapping;

namespace BudgetGrains.Server.Services;

/// <summary>The meter rpcs of budget.v1.Management (docs/decisions/0039).</summary>
internal sealed partial class ManagementService
{
    /// <summary>The meter catalog and usage per meter; set by the silo when it builds the service.</summary>
    public MeterAdministration Meters { get; init; } = null!;

    public override async Task<V1.Meter> UpsertMeter(V1.UpsertMeterRequest request, ServerCallContext context) =>
        ToProto(Unwrap(await Meters.UpsertAsync(ToCatalogMeter(request.Meter ?? new V1.Meter()))));

    public override async Task<V1.ImportMetersResponse> ImportMeters(V1.ImportMetersRequest request, ServerCallContext context)
    {
        var stored = Unwrap(await Meters.ImportAsync([.. request.Meters.Select(ToCatalogMeter)]));
        return new V1.ImportMetersResponse { Imported = stored.Meters.Count, Added = stored.Added };
    }

    public override Task<V1.ListMetersResponse> ListMeters(V1.ListMetersRequest request, ServerCallContext context)
    {
        var page = Unwrap(Meters.List(request.NamePrefix, request.PageSize, request.PageToken));
        var response = new V1.ListMetersResponse { NextPageToken = page.NextPageToken };
        response.Meters.AddRange(page.Meters.Select(ToProto));
        return Task.FromResult(response);
    }

    public override async Task<V1.DeleteMeterResponse> DeleteMeter(V1.DeleteMeterRequest request, ServerCallContext context) =>
        new() { Deleted = Unwrap(await Meters.DeleteAsync(request.Name)).Deleted };

    public override async Task<V1.MeterUsageReport> GetMeterUsage(V1.GetMeterUsageRequest request, ServerCallContext context)
    {
        var usage = Unwrap(await Meters.UsageAsync(request.Scope, request.PeriodStartUnixMs, context.CancellationToken));
        var report = new V1.MeterUsageReport { Scope = usage.Scope, PeriodStartUnixMs = usage.PeriodStartUnixMs };
        report.Rows.AddRange(usage.Rows.Select(r => new V1.MeterUsageRow { Meter = r.Meter, Quantity = r.Quantity, SpentNanos = r.SpentNanos, Commits = r.Commits }));
        return report;
    }
}
