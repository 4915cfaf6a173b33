using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>Meters on the PostgreSQL journal (docs/decisions/0039): the catalog, metered commits from many callers at
/// once summed exactly per scope and in the ledger's meters, all of it still there for a new silo on the database.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MetersOnPostgresTests(PostgresFixture postgres) : IDisposable
{
    private const int Calls = 120;

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-pg-meters-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task MeteredCommitsSumExactlyAndSurviveANewSilo()
    {
        var database = await postgres.NewDatabaseAsync();
        var options = new SiloOptions
        {
            Listen = "127.0.0.1:0", Http = "none", DataDir = _dataDir, Storage = "postgres", PostgresConnectionString = database,
            StatisticsInterval = TimeSpan.Zero, DefaultPricesFile = "",
        };
        var attribution = new Attribution { Tenant = "acme", Feature = "rag", Team = "research" };
        string[] scopes = ["feature/rag", "tenant/acme", "team/research"];
        var charged = new ConcurrentBag<long>();
        var quantity = Enumerable.Range(0, Calls).Sum(i => (long)(i % 5 + 1));
        // ceil(q × 3 / 4) per commit, then summed: each commit rounds on its own.
        var nanos = Enumerable.Range(0, Calls).Sum(i => ((i % 5 + 1) * 3L + 3) / 4);

        await using (var silo = await Silo.StartAsync(options, Quiet))
        using (var channel = GrpcChannel.ForAddress(silo.Address))
        {
            var (admission, management) = (new Admission.AdmissionClient(channel), new Management.ManagementClient(channel));
            await management.UpsertMeterAsync(new UpsertMeterRequest { Meter = new Meter { Name = "vector_queries", Unit = "query", PriceNanos = 3, PerUnits = 4 } });
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/research", LimitNanos = 1_000_000 });
            await Parallel.ForAsync(0, Calls, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            {
                var reserve = new ReserveRequest { RequestId = "req-" + i, Attribution = attribution, EstimateMeters = { Queries(5) } };
                var held = await admission.ReserveAsync(reserve);
                Assert.Equal(Decision.Admitted, held.Decision);
                charged.Add((await admission.CommitAsync(new CommitRequest { ReservationId = held.ReservationId, Meters = { Queries(i % 5 + 1) } })).ChargedNanos);
            });
            Assert.Equal(nanos, charged.Sum());
            await AssertUsageAsync(management);

            // The ledger export reads each page's meters from ledger_meters (ANY of the page's ids).
            var export = new System.Text.StringBuilder();
            using (var call = management.ExportLedger(new ExportLedgerRequest { Format = "jsonl" }))
                while (await call.ResponseStream.MoveNext(CancellationToken.None)) export.Append(call.ResponseStream.Current.Data.ToStringUtf8());
            var exported = export.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("meters").EnumerateArray().Single()).ToList();
            Assert.Equal((Calls, quantity, nanos), (exported.Count, exported.Sum(m => m.GetProperty("quantity").GetInt64()), exported.Sum(m => m.GetProperty("nanos").GetInt64())));
        }

        Assert.Equal((Calls * 1L, quantity, nanos), await LedgerMetersAsync(database));

        await using (var silo = await Silo.StartAsync(options, Quiet))
        using (var channel = GrpcChannel.ForAddress(silo.Address))
        {
            var (admission, management) = (new Admission.AdmissionClient(channel), new Management.ManagementClient(channel));
            var listed = Assert.Single((await management.ListMetersAsync(new ListMetersRequest())).Meters);
            Assert.Equal(("vector_queries", "query", 3L, 4L), (listed.Name, listed.Unit, listed.PriceNanos, listed.PerUnits));
            await AssertUsageAsync(management);
            var again = await admission.ReserveAsync(new ReserveRequest { RequestId = "after-restart", Attribution = attribution, EstimateMeters = { Queries(8) } });
            Assert.Equal((Decision.Admitted, 6L), (again.Decision, again.HeldNanos));
        }

        async Task AssertUsageAsync(Management.ManagementClient management)
        {
            foreach (var scope in scopes)
            {
                var row = Assert.Single((await management.GetMeterUsageAsync(new GetMeterUsageRequest { Scope = scope })).Rows);
                Assert.Equal(("vector_queries", quantity, nanos, (long)Calls), (row.Meter, row.Quantity, row.SpentNanos, row.Commits));
            }
        }
    }

    /// <summary>
    /// I1 for a meter limit on PostgreSQL (docs/decisions/0041): 300 reserves from 64 callers at once against a cost
    /// center capped at 100 reserves' worth of gpu_seconds admit exactly 100, every other is denied METER_LIMIT there; a
    /// new silo on the database rebuilds the held quantities from scope_meter_holds and the used ones from the usage, and
    /// admits exactly what is left.
    /// </summary>
    [SkippableFact]
    public async Task ConcurrentReservesAdmitExactlyTheMeterLimitAndANewSiloRebuildsItsQuantities()
    {
        const int admits = 100;
        const long seconds = 30;
        var database = await postgres.NewDatabaseAsync();
        var options = new SiloOptions
        {
            Listen = "127.0.0.1:0", Http = "none", DataDir = _dataDir, Storage = "postgres", PostgresConnectionString = database,
            StatisticsInterval = TimeSpan.Zero, DefaultPricesFile = "",
        };
        var attribution = new Attribution { Tenant = "acme", Agent = "trainer", Team = "research", CostCenter = "cc" };
        var answers = new ConcurrentBag<ReserveResponse>();
        MeterLimitStatus before;

        await using (var silo = await Silo.StartAsync(options, Quiet))
        using (var channel = GrpcChannel.ForAddress(silo.Address))
        {
            var (admission, management) = (new Admission.AdmissionClient(channel), new Management.ManagementClient(channel));
            await management.UpsertMeterAsync(new UpsertMeterRequest { Meter = new Meter { Name = "gpu_seconds", Unit = "second", PriceNanos = 2 } });
            await management.UpsertBudgetAsync(new UpsertBudgetRequest
            {
                Scope = "cost_center/cc", LimitNanos = 1_000_000_000, MeterLimits = { new MeterLimit { Meter = "gpu_seconds", MaxQuantity = admits * seconds } },
            });
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/research", LimitNanos = 1_000_000_000, Parent = "cost_center/cc" });
            await Parallel.ForAsync(0, admits * 3, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
            {
                var reserve = new ReserveRequest { RequestId = "req-" + i, Attribution = attribution, EstimateNanos = 100, EstimateMeters = { Gpu(seconds) } };
                answers.Add(await admission.ReserveAsync(reserve));
            });
            var admitted = answers.Where(a => a.Decision == Decision.Admitted).ToList();
            Assert.Equal(admits, admitted.Count);
            Assert.All(answers.Where(a => a.Decision == Decision.Denied),
                d => Assert.Equal((DenyReason.MeterLimit, "cost_center/cc", "gpu_seconds", 0L), (d.Reason, d.DeniedScope, d.DeniedMeter, d.RemainingMeterQuantity)));

            // A third are committed at half their estimate: the rest of their hold is returned.
            var committed = admitted.Where((_, i) => i % 3 == 0).ToList();
            foreach (var answer in committed)
                await admission.CommitAsync(new CommitRequest { ReservationId = answer.ReservationId, Meters = { Gpu(seconds / 2) } });
            before = Assert.Single((await management.GetBudgetAsync(new GetBudgetRequest { Scope = "cost_center/cc" })).Meters);
            Assert.Equal((committed.Count * seconds / 2, (admits - committed.Count) * seconds), (before.UsedQuantity, before.HeldQuantity));
        }

        await using (var silo = await Silo.StartAsync(options, Quiet))
        using (var channel = GrpcChannel.ForAddress(silo.Address))
        {
            var (admission, management) = (new Admission.AdmissionClient(channel), new Management.ManagementClient(channel));
            var status = await management.GetBudgetAsync(new GetBudgetRequest { Scope = "cost_center/cc" });
            Assert.Equal(before, Assert.Single(status.Meters));
            // Exactly what is left fits, and not one second more.
            var left = admits * seconds - before.UsedQuantity - before.HeldQuantity;
            var over = await admission.ReserveAsync(new ReserveRequest { RequestId = "over", Attribution = attribution, EstimateMeters = { Gpu(left + 1) } });
            var fits = await admission.ReserveAsync(new ReserveRequest { RequestId = "fits", Attribution = attribution, EstimateMeters = { Gpu(left) } });
            Assert.Equal((DenyReason.MeterLimit, left), (over.Reason, over.RemainingMeterQuantity));
            Assert.Equal(Decision.Admitted, fits.Decision);
            foreach (var answer in answers.Where(a => a.Decision == Decision.Admitted).Append(fits))
            {
                try
                {
                    await admission.ReleaseAsync(new ReleaseRequest { ReservationId = answer.ReservationId });
                }
                catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.FailedPrecondition)
                {
                    // committed
                }
            }
            status = await management.GetBudgetAsync(new GetBudgetRequest { Scope = "cost_center/cc" });
            Assert.Equal((before.UsedQuantity, 0L), (status.Meters[0].UsedQuantity, status.Meters[0].HeldQuantity));
        }
    }

    private static MeterUsage Gpu(long seconds) => new() { Meter = "gpu_seconds", Quantity = seconds };

    private static MeterUsage Queries(long quantity) => new() { Meter = "vector_queries", Quantity = quantity };

    private static async Task<(long Rows, long Quantity, long Nanos)> LedgerMetersAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*), sum(m.quantity)::bigint, sum(m.nanos)::bigint FROM ledger_meters m JOIN ledger l ON l.reservation_id = m.reservation_id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    private static void Quiet(ILoggingBuilder logging) => logging.SetMinimumLevel(LogLevel.Warning);

    public void Dispose()
    {
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
