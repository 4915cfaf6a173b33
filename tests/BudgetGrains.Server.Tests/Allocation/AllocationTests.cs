using System.Text.Json;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using BudgetGrains.Server.Tests.Rest;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Allocation;

/// <summary>ImportSharedCosts and GetAllocation against a silo of its own whose clock stands on 2026-11-10 12:00 UTC, so
/// every commit of the ledger is the test's: shared costs split by tokens and calls with remainders, what stays unallocated,
/// re-imports, overlaps and bad input.</summary>
public sealed class AllocationTests : IAsyncLifetime
{
    private const string Model = "alloc-model";
    private static readonly DateTimeOffset Now = new(2026, 11, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly long October = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private static readonly long November = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private static readonly long December = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private OwnSilo _silo = null!;
    private RestCalls _rest = null!;

    public async Task InitializeAsync()
    {
        var options = OwnSilo.NewOptions("allocation");
        options.Prices[Model] = new PriceOptions { InputNanos = 1, OutputNanos = 1 };
        _silo = await OwnSilo.StartAsync(options, new ManualClock(Now));
        _rest = new RestCalls(_silo.Silo);
    }

    private async Task CommitTokensAsync(Attribution attribution, long inputTokens)
    {
        var hold = await _silo.Admission.ReserveAsync(Build.Reserve(attribution, 1_000_000));
        Assert.Equal(Decision.Admitted, hold.Decision);
        await _silo.Admission.CommitAsync(new CommitRequest
        {
            ReservationId = hold.ReservationId, Usage = new TokenUsage { Model = Model, InputTokens = inputTokens },
        });
    }

    private Task<ImportSharedCostsResponse> ImportAsync(params object[] costs) =>
        _rest.CallAsync<ImportSharedCostsResponse>(HttpMethod.Post, "api/v1/shared-costs", JsonSerializer.Serialize(new { costs }));

    private static object Cost(string pool, long amountNanos, string driver = "tokens", string dimension = "tenant", long? start = null, long? end = null,
        bool estimated = false, string currency = "USD") =>
        new { pool, periodStartUnixMs = start ?? November, periodEndUnixMs = end ?? December, amountNanos, currency, driver, dimension, estimated };

    private Task<AllocationReport> ReportAsync(string dimension = "tenant", long from = 0, long to = 0, string scope = "") =>
        _rest.CallAsync<AllocationReport>(HttpMethod.Get,
            $"api/v1/allocation?dimension={dimension}&from_unix_ms={(from == 0 ? October : from)}&to_unix_ms={to}&scope={Uri.EscapeDataString(scope)}");

    [Fact]
    public async Task APoolIsSplitByTokensIntoPartsThatAddUpExactlyWithTheRemainderByLargestRemainderAndUsageWithoutATenantUnallocated()
    {
        await CommitTokensAsync(new Attribution { Tenant = "a", Feature = "search" }, 1_000);
        await CommitTokensAsync(new Attribution { Tenant = "b", Feature = "search" }, 2_000);
        await CommitTokensAsync(new Attribution { Tenant = "c", Feature = "chat" }, 3_000);
        await CommitTokensAsync(new Attribution { Feature = "chat" }, 1_000);              // no tenant: its share is unallocated
        var open = await _silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = "a" }, 250));

        var imported = await ImportAsync(Cost("vector-cluster", 1_000_000_000), Cost("observability", 10, driver: "calls", estimated: true),
            Cost("gpu-pool", 7_000, start: October, end: November), Cost("feature-only", 99, dimension: "feature"));

        Assert.Equal(0, imported.Replaced);
        Assert.Equal(4, imported.Costs.Count);
        Assert.All(imported.Costs, c => Assert.Equal(Now.ToUnixTimeMilliseconds(), c.ImportedAtUnixMs));
        var report = await ReportAsync();
        // Tokens 1,000 / 2,000 / 3,000 / 1,000 of 7,000: floors 142,857,142 / 285,714,285 / 428,571,428 / 142,857,142 leave 3 nanos;
        // remainders 6,000 / 5,000 / 4,000 / 6,000 give them to a, then the unallocated share (tied with a, so after it), then b.
        var vector = report.Pools.Single(p => p.Cost.Pool == "vector-cluster");
        Assert.Equal((1_000_000_000 - 142_857_143L, 142_857_143L, "tokens of calls without a tenant"),
            (vector.AllocatedNanos, vector.UnallocatedNanos, vector.UnallocatedReason));
        var rows = report.Rows.ToDictionary(r => r.Scope);
        Assert.Equal(["tenant/a", "tenant/b", "tenant/c", "unallocated"], report.Rows.Select(r => r.Scope));
        long Part(string scope, string pool) => rows[scope].Figures.Where(f => f.Source == pool).Sum(f => f.AmountNanos);
        Assert.Equal((142_857_143L, 285_714_286L, 428_571_428L, 142_857_143L),
            (Part("tenant/a", "vector-cluster"), Part("tenant/b", "vector-cluster"), Part("tenant/c", "vector-cluster"), Part("unallocated", "vector-cluster")));
        Assert.Equal(1_000_000_000, report.Rows.Sum(r => Part(r.Scope, "vector-cluster")));
        var a = rows["tenant/a"].Figures.Single(f => f.Source == "vector-cluster");
        Assert.Equal(("allocated", 1_000L, 7_000L), (a.Label, a.DriverQuantity, a.DriverTotal));

        // 10 nanos by calls, 1 call each of 4: 2 each, 2 left over, all remainders equal: a and b (names first, unallocated last).
        Assert.Equal((3L, 3L, 2L, 2L), (Part("tenant/a", "observability"), Part("tenant/b", "observability"), Part("tenant/c", "observability"),
            Part("unallocated", "observability")));
        Assert.All(report.Rows.Where(r => r.Scope != "unallocated"), r => Assert.Equal("estimated", r.Figures.Single(f => f.Source == "observability").Label));

        // October had no commits: the GPU pool stays unallocated whole; the feature pool is not in a tenant report.
        var gpu = report.Pools.Single(p => p.Cost.Pool == "gpu-pool");
        Assert.Equal((0L, 7_000L, "no tokens in the period"), (gpu.AllocatedNanos, gpu.UnallocatedNanos, gpu.UnallocatedReason));
        Assert.Equal(7_000, Part("unallocated", "gpu-pool"));
        Assert.DoesNotContain(report.Pools, p => p.Cost.Pool == "feature-only");

        // Measured is each tenant's own ledger spend (1 nano per token), the open hold is estimated, and the totals add up.
        Assert.Equal((1_000L, 250L), (rows["tenant/a"].MeasuredNanos, rows["tenant/a"].EstimatedNanos - 3));
        Assert.Contains(rows["tenant/a"].Figures, f => (f.Label, f.Source, f.AmountNanos) == ("estimated", "open_holds", 250));
        Assert.Equal((1_000L, 142_857_143L + 2 + 7_000), (rows["unallocated"].MeasuredNanos, rows["unallocated"].UnallocatedNanos));
        Assert.Equal(7_000 + 1_000_000_000 + 10 + 7_000 + 250, report.TotalNanos);
        Assert.Equal(report.TotalNanos, report.MeasuredNanos + report.AllocatedNanos + report.EstimatedNanos + report.UnallocatedNanos);
        Assert.All(report.Rows, r => Assert.Equal(r.TotalNanos, r.Figures.Sum(f => f.AmountNanos)));

        // One tenant's row is the same share as in the whole report; a report ending in the past has no open holds.
        var one = Assert.Single((await ReportAsync(scope: "tenant/b")).Rows);
        Assert.Equal(rows["tenant/b"], one);
        var past = await ReportAsync(to: Now.ToUnixTimeMilliseconds() - 1);
        Assert.Equal(0, past.Rows.Single(r => r.Scope == "tenant/a").Figures.Count(f => f.Source == "open_holds"));

        // By feature: the feature pool split by tokens over search (3,000) and chat (4,000).
        var byFeature = await ReportAsync("feature");
        Assert.Equal((42L, 57L), (byFeature.Rows.Single(r => r.Scope == "feature/search").AllocatedNanos, byFeature.Rows.Single(r => r.Scope == "feature/chat").Figures
            .Single(f => f.Source == "feature-only").AmountNanos));
        Assert.Equal(0, byFeature.Pools.Single(p => p.Cost.Pool == "feature-only").UnallocatedNanos);
        await _silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = open.ReservationId });
    }

    [Fact]
    public async Task APoolIsSplitByAMetersCommittedQuantity()
    {
        await _silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = new Meter { Name = "gpu_seconds", Unit = "second", PriceNanos = 1, PerUnits = 1 } });
        async Task CommitGpuAsync(string tenant, long seconds)
        {
            var hold = await _silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant, Feature = "train" }, 1_000_000));
            await _silo.Admission.CommitAsync(new CommitRequest { ReservationId = hold.ReservationId, Meters = { new MeterUsage { Meter = "gpu_seconds", Quantity = seconds } } });
        }
        await CommitGpuAsync("m1", 100);
        await CommitGpuAsync("m2", 200);
        await CommitGpuAsync("m2", 100);
        await CommitTokensAsync(new Attribution { Tenant = "m3" }, 5_000);   // tokens, no GPU: no share of the GPU pool

        await ImportAsync(Cost("gpu-pool", 1_000, driver: "meter:gpu_seconds"), Cost("unused-meter", 10, driver: "meter:vector_queries"));
        var report = await ReportAsync();

        // 1,000 nanos by 100 : 300 GPU-seconds: 250 and 750, nothing left over.
        var rows = report.Rows.ToDictionary(r => r.Scope);
        long Part(string scope, string pool) => rows.TryGetValue(scope, out var row) ? row.Figures.Where(f => f.Source == pool).Sum(f => f.AmountNanos) : 0;
        Assert.Equal((250L, 750L, 0L), (Part("tenant/m1", "gpu-pool"), Part("tenant/m2", "gpu-pool"), Part("tenant/m3", "gpu-pool")));
        var m2 = rows["tenant/m2"].Figures.Single(f => f.Source == "gpu-pool");
        Assert.Equal((300L, 400L), (m2.DriverQuantity, m2.DriverTotal));
        // A meter no commit carried leaves its pool unallocated, whole.
        var unused = report.Pools.Single(p => p.Cost.Pool == "unused-meter");
        Assert.Equal((0L, 10L), (unused.AllocatedNanos, unused.UnallocatedNanos));
        Assert.Equal(report.TotalNanos, report.MeasuredNanos + report.AllocatedNanos + report.EstimatedNanos + report.UnallocatedNanos);
    }

    [Fact]
    public async Task ImportingAPoolAndPeriodAgainReplacesItAndAnOverlappingPeriodIsRefused()
    {
        await CommitTokensAsync(new Attribution { Tenant = "a" }, 10);
        Assert.Equal(0, (await ImportAsync(Cost("gpu", 100))).Replaced);

        var again = await ImportAsync(Cost("gpu", 300, driver: "spend"));

        Assert.Equal(1, again.Replaced);
        var pool = Assert.Single((await ReportAsync()).Pools);
        Assert.Equal((300L, "spend", 300L), (pool.Cost.AmountNanos, pool.Cost.Driver, pool.AllocatedNanos));
        var error = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/shared-costs", 409, "FAILED_PRECONDITION",
            JsonSerializer.Serialize(new { costs = new[] { Cost("other", 5), Cost("gpu", 1, start: November + 86_400_000, end: December + 86_400_000) } }));
        Assert.Contains("pool gpu is imported already for 2026-11-01 00:00 to 2026-12-01 00:00", error, StringComparison.Ordinal);
        var after = await ReportAsync();
        Assert.Equal(300, Assert.Single(after.Pools).Cost.AmountNanos);
        // The audit log names the change.
        var audit = await _silo.Management.ListAuditAsync(new ListAuditRequest());
        Assert.Contains(audit.Entries, e => e.Rpc.EndsWith("ImportSharedCosts", StringComparison.Ordinal) && e.Target == "shared-costs/gpu");
    }

    [Theory]
    [InlineData("pool", "bad pool", "pool 'bad pool' has ' '")]
    [InlineData("amountNanos", -1L, "amount_nanos must be 0 or more")]
    [InlineData("currency", "usd", "must be written in capitals: USD")]
    [InlineData("driver", "meter:GPU", "driver's meter 'GPU' must start with a lowercase ASCII letter")]
    [InlineData("driver", "bytes", "driver must be tokens, spend, calls or meter:NAME, not 'bytes'")]
    [InlineData("dimension", "team", "dimension must be tenant or feature, not 'team'")]
    [InlineData("periodEndUnixMs", 0L, "period_end_unix_ms must be after period_start_unix_ms")]
    [InlineData("periodStartUnixMs", 0L, "the period is longer than 366 days")]
    [InlineData("pool", "first", "the same pool and period is given twice")]
    public async Task ABadCostIsRefusedNamingItAndNothingOfTheImportIsStored(string field, object value, string message)
    {
        var bad = JsonSerializer.SerializeToNode(Cost("second", 5))!.AsObject();
        bad[field] = JsonSerializer.SerializeToNode(value);

        var error = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/shared-costs", 400, "INVALID_ARGUMENT",
            JsonSerializer.Serialize(new { costs = new object[] { Cost("first", 5), bad } }));

        Assert.Contains("costs[1]", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Contains("nothing was imported", error, StringComparison.Ordinal);
        Assert.Empty((await ReportAsync()).Pools);
    }

    [Fact]
    public async Task BadImportsAndReportsAreRefusedWithAClearStatus()
    {
        var empty = await Assert.ThrowsAsync<RpcException>(() => _silo.Management.ImportSharedCostsAsync(new ImportSharedCostsRequest()).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, "costs is empty: nothing to import"), (empty.StatusCode, empty.Status.Detail));
        var tooMany = new ImportSharedCostsRequest();
        tooMany.Costs.AddRange(Enumerable.Range(0, 1_001).Select(i => new SharedCost
        {
            Pool = "p" + i, PeriodStartUnixMs = November, PeriodEndUnixMs = December, Driver = "calls", Dimension = "tenant",
        }));
        var large = await Assert.ThrowsAsync<RpcException>(() => _silo.Management.ImportSharedCostsAsync(tooMany).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, large.StatusCode);
        Assert.Contains("at most 1000 per import", large.Status.Detail, StringComparison.Ordinal);

        foreach (var (query, message) in new[]
                 {
                     ("dimension=team", "dimension must be tenant or feature"),
                     ($"dimension=tenant&from_unix_ms={December}&to_unix_ms={November}", "to_unix_ms must be after from_unix_ms"),
                     ($"dimension=tenant&from_unix_ms=0&to_unix_ms={December}", "the range is longer than 366 days"),
                     ($"dimension=tenant&from_unix_ms={November}&scope=feature/search", "scope 'feature/search' is not a tenant of this report"),
                     ($"dimension=feature&from_unix_ms={November}&currency=EURO", "currency 'EURO' is not an ISO 4217"),
                 })
            Assert.Contains(message, await _rest.ErrorAsync(HttpMethod.Get, "api/v1/allocation?" + query, 400, "INVALID_ARGUMENT"), StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        _rest.Dispose();
        await _silo.DisposeAsync();
    }
}
