using BudgetGrains.Grains;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Allocation;

/// <summary>
/// ImportSharedCosts and GetAllocation (docs/decisions/0045, 0046): shared costs of pools per period, split over tenants or
/// features by a usage driver measured in the ledger over the cost's own period, with what no tenant or feature can carry
/// kept as "unallocated", and every figure labelled measured, allocated, estimated or unallocated.
/// </summary>
internal sealed class Allocations(ISharedCostStore store, TimeProvider clock)
{
    public const string Measured = "measured";
    public const string Allocated = "allocated";
    public const string Estimated = "estimated";
    public const string UnallocatedLabel = "unallocated";
    public const string UnallocatedRow = "unallocated";
    public const string LedgerSource = "ledger";
    public const string HoldsSource = "open_holds";
    private const long DayMs = 86_400_000;

    public async Task<V1.ImportSharedCostsResponse> ImportAsync(V1.ImportSharedCostsRequest request, CancellationToken cancellationToken)
    {
        if (request.Costs.Count == 0) throw Invalid("costs is empty: nothing to import");
        if (request.Costs.Count > Limits.MaxSharedCostsPerImport)
            throw Invalid($"{request.Costs.Count} costs; at most {Limits.MaxSharedCostsPerImport} per import: split the file");
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var entries = new List<SharedCostEntry>(request.Costs.Count);
        var seen = new HashSet<(string, long, long)>();
        for (var i = 0; i < request.Costs.Count; i++)
        {
            var c = request.Costs[i];
            var currency = c.Currency.Length == 0 ? "USD" : c.Currency;
            var error = ScopeIds.ValidateKey(c.Pool, "pool")
                ?? (c.PeriodStartUnixMs < 0 ? "period_start_unix_ms must be 0 or more" : null)
                ?? (c.PeriodEndUnixMs <= c.PeriodStartUnixMs ? "period_end_unix_ms must be after period_start_unix_ms" : null)
                ?? ((c.PeriodEndUnixMs - c.PeriodStartUnixMs) > Limits.MaxAllocationDays * DayMs ? $"the period is longer than {Limits.MaxAllocationDays} days" : null)
                ?? (c.AmountNanos < 0 ? "amount_nanos must be 0 or more (a credit is not a shared cost)" : null)
                ?? Iso4217.Validate(currency)
                ?? AllocationDrivers.Validate(c.Driver)
                ?? ValidateDimension(c.Dimension)
                ?? (seen.Add((c.Pool, c.PeriodStartUnixMs, c.PeriodEndUnixMs)) ? null : "the same pool and period is given twice");
            if (error is not null) throw Invalid($"costs[{i}] ({Auth.AgentTenancy.Short(c.Pool)}): {error}; nothing was imported");
            entries.Add(new SharedCostEntry(c.Pool, c.PeriodStartUnixMs, c.PeriodEndUnixMs, c.AmountNanos, currency, c.Driver, c.Dimension, c.Estimated, now));
        }

        int replaced;
        try
        {
            replaced = await store.ReplaceAsync(entries, cancellationToken);
        }
        catch (SharedCostOverlapException e)
        {
            throw Status(StatusCode.FailedPrecondition, e.Message + "; nothing was imported");
        }
        catch (InvalidOperationException e)
        {
            throw Status(StatusCode.ResourceExhausted, e.Message + "; nothing was imported");
        }
        var response = new V1.ImportSharedCostsResponse { Replaced = replaced };
        response.Costs.AddRange(entries.Select(ToProto));
        return response;
    }

    public async Task<V1.AllocationReport> GetAsync(V1.GetAllocationRequest request, CancellationToken cancellationToken)
    {
        if (ValidateDimension(request.Dimension) is { } badDimension) throw Invalid(badDimension);
        if (request.FromUnixMs < 0 || request.ToUnixMs < 0) throw Invalid("from_unix_ms and to_unix_ms must be 0 or more");
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // "Up to now" includes a commit of this very millisecond.
        var (from, to) = (request.FromUnixMs, request.ToUnixMs == 0 ? now + 1 : request.ToUnixMs);
        if (to <= from) throw Invalid("to_unix_ms must be after from_unix_ms");
        if (to - from > Limits.MaxAllocationDays * DayMs) throw Invalid($"the range is longer than {Limits.MaxAllocationDays} days");
        var currency = request.Currency.Length == 0 ? "USD" : request.Currency;
        if (Iso4217.Validate(currency) is { } badCurrency) throw Invalid(badCurrency);
        var kinds = SharedCosts.HeldPrefixes(request.Dimension);
        if (request.Scope.Length > 0 && (ScopeIds.Validate(request.Scope) ?? (kinds.Any(k => request.Scope.StartsWith(k, StringComparison.Ordinal))
                ? null : $"scope '{Auth.AgentTenancy.Short(request.Scope)}' is not a {request.Dimension} of this report ({string.Join(" or ", kinds)}...)")) is { } badScope)
            throw Invalid(badScope);

        var stored = await store.ReadAsync(from, to, Limits.MaxAllocationPools + 1, cancellationToken);
        if (stored.Count > Limits.MaxAllocationPools)
            throw Status(StatusCode.ResourceExhausted, $"more than {Limits.MaxAllocationPools} pool periods in the range: ask for fewer days");
        var pools = stored.Where(c => c.Dimension == request.Dimension && c.Currency == currency).ToList();

        var rows = new SortedDictionary<string, V1.AllocationRow>(StringComparer.Ordinal);
        V1.AllocationRow Row(string scope)
        {
            if (!rows.TryGetValue(scope, out var row))
            {
                if (rows.Count >= Limits.MaxAllocationScopes)
                    throw Status(StatusCode.ResourceExhausted, $"more than {Limits.MaxAllocationScopes} {request.Dimension}s: ask for fewer days or one scope");
                rows[scope] = row = new V1.AllocationRow { Scope = scope };
            }
            return row;
        }
        // Commits without a tenant (or feature) are measured cost no row of the dimension carries: they show as unallocated.
        static string RowOf(string scope) => scope.Length == 0 ? UnallocatedRow : scope;

        foreach (var u in await UsageAsync(request.Dimension, from, to, cancellationToken))
            if (u.SpendNanos != 0) Add(Row(RowOf(u.Scope)), Measured, LedgerSource, u.SpendNanos, 0, 0);
        // Open holds are spend that is coming but not known: only a report reaching the present has them.
        if (to > now)
            foreach (var (scope, held) in await store.ReadHeldAsync(request.Dimension, Limits.MaxAllocationScopes + 1, cancellationToken))
                Add(Row(scope), Estimated, HoldsSource, held, 0, 0);

        var report = new V1.AllocationReport { Dimension = request.Dimension, FromUnixMs = from, ToUnixMs = to, Currency = currency };
        var usageByPeriod = new Dictionary<(long, long), IReadOnlyList<DriverUsage>>();
        foreach (var pool in pools)
        {
            var period = (pool.PeriodStartUnixMs, pool.PeriodEndUnixMs);
            if (!usageByPeriod.TryGetValue(period, out var usage))
                usageByPeriod[period] = usage = await UsageAsync(request.Dimension, pool.PeriodStartUnixMs, pool.PeriodEndUnixMs, cancellationToken);
            var quantities = usage.Select(u => (u.Scope, Quantity: AllocationDrivers.Quantity(pool.Driver, u))).ToList();
            var total = quantities.Where(q => q.Quantity > 0).Sum(q => q.Quantity);
            var label = pool.Estimated ? Estimated : Allocated;
            var split = new V1.PoolAllocation { Cost = ToProto(pool) };
            foreach (var (scope, quantity, nanos) in Split.Proportionally(pool.AmountNanos, quantities))
            {
                if (scope.Length == 0)
                {
                    split.UnallocatedNanos += nanos;
                    split.UnallocatedReason = $"{pool.Driver} of calls without a {(request.Dimension == SharedCosts.Tenant ? "tenant" : "feature or agent")}";
                    Add(Row(UnallocatedRow), UnallocatedLabel, pool.Pool, nanos, quantity, total);
                }
                else
                {
                    split.AllocatedNanos += nanos;
                    Add(Row(scope), label, pool.Pool, nanos, quantity, total);
                }
            }
            if (total == 0)
            {
                split.UnallocatedNanos = pool.AmountNanos;
                split.UnallocatedReason = $"{AllocationDrivers.Nothing(pool.Driver)} in the period";
                Add(Row(UnallocatedRow), UnallocatedLabel, pool.Pool, pool.AmountNanos, 0, 0);
            }
            report.Pools.Add(split);
        }

        // The unallocated row comes last, after the scopes in ordinal order.
        foreach (var row in rows.Values.OrderBy(r => r.Scope == UnallocatedRow))
        {
            if (request.Scope.Length > 0 && row.Scope != request.Scope) continue;
            report.Rows.Add(row);
            report.MeasuredNanos += row.MeasuredNanos;
            report.AllocatedNanos += row.AllocatedNanos;
            report.EstimatedNanos += row.EstimatedNanos;
            report.UnallocatedNanos += row.UnallocatedNanos;
            report.TotalNanos += row.TotalNanos;
        }
        return report;
    }

    private async Task<IReadOnlyList<DriverUsage>> UsageAsync(string dimension, long from, long to, CancellationToken cancellationToken)
    {
        var usage = await store.ReadDriverUsageAsync(dimension, from, to, Limits.MaxAllocationScopes + 1, cancellationToken);
        return usage.Count <= Limits.MaxAllocationScopes ? usage
            : throw Status(StatusCode.ResourceExhausted, $"more than {Limits.MaxAllocationScopes} {dimension}s used the ledger in a period: ask for fewer days");
    }

    private static void Add(V1.AllocationRow row, string label, string source, long nanos, long quantity, long total)
    {
        row.Figures.Add(new V1.AllocationFigure { Label = label, Source = source, AmountNanos = nanos, DriverQuantity = quantity, DriverTotal = total });
        switch (label)
        {
            case Measured: row.MeasuredNanos += nanos; break;
            case Allocated: row.AllocatedNanos += nanos; break;
            case Estimated: row.EstimatedNanos += nanos; break;
            default: row.UnallocatedNanos += nanos; break;
        }
        row.TotalNanos += nanos;
    }

    private static string? ValidateDimension(string dimension) => dimension is SharedCosts.Tenant or SharedCosts.Feature
        ? null
        : $"dimension must be {SharedCosts.Tenant} or {SharedCosts.Feature}, not '{Auth.AgentTenancy.Short(dimension)}'";

    private static V1.SharedCost ToProto(SharedCostEntry c) => new()
    {
        Pool = c.Pool, PeriodStartUnixMs = c.PeriodStartUnixMs, PeriodEndUnixMs = c.PeriodEndUnixMs, AmountNanos = c.AmountNanos, Currency = c.Currency,
        Driver = c.Driver, Dimension = c.Dimension, Estimated = c.Estimated, ImportedAtUnixMs = c.ImportedAtUnixMs,
    };

    private static RpcException Invalid(string message) => Status(StatusCode.InvalidArgument, message);
    private static RpcException Status(StatusCode code, string message) => new(new Grpc.Core.Status(code, message));
}
