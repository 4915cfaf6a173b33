using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using BudgetGrains.Storage.Sqlite;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>Meter limits across a kill -9 and a schema upgrade (docs/decisions/0041): the held quantities are rebuilt from
/// the store exactly as held money is.</summary>
public sealed class MeterLimitDurabilityTests : IDisposable
{
    private const int Callers = 16;
    private const long MaxSeconds = 2_000_000;

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-meter-kill-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Reserves estimate gpu_seconds only, at 1 nano a second, so every scope's held nanos are its held seconds and its spent
    /// nanos its used seconds: after the kill and the restart, the meter's held and used quantities must equal the money
    /// the (separately tested) hold path rebuilt, acknowledged holds are still held once, and releasing everything sent
    /// leaves nothing held.
    /// </summary>
    [Fact]
    public async Task HeldQuantitiesSurviveKillDashNine()
    {
        var chain = Chain.Unique("meter-i4");
        var sent = new ConcurrentBag<string>();
        var ackedHolds = new ConcurrentDictionary<string, ReserveRequest>();
        var acked = 0;

        using (var first = await ServerProcess.StartAsync(_dataDir))
        using (var channel = GrpcChannel.ForAddress(first.Address))
        {
            var (admission, management) = (new AdmissionClient(channel), new ManagementClient(channel));
            await management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of("gpu_seconds", 1, unit: "second") });
            await chain.CreateAsync(management, generous: 1_000_000_000_000);
            await management.UpsertBudgetAsync(new UpsertBudgetRequest
            {
                Scope = chain.TeamScope, MeterLimits = { new MeterLimit { Meter = "gpu_seconds", MaxQuantity = MaxSeconds } },
            });

            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                var random = new Random(caller);
                while (!stop.IsCancellationRequested)
                {
                    var reserve = MeterLimitTests.Metered(chain.Attribution, 0, "gpu_seconds", random.Next(1, 1_000));
                    sent.Add(reserve.RequestId);
                    try
                    {
                        if ((await admission.ReserveAsync(reserve)).Decision != Decision.Admitted) continue;
                        switch (random.Next(3))
                        {
                            case 0:
                                ackedHolds[reserve.RequestId] = reserve; // left open: it must still be held after the restart
                                break;
                            case 1:
                                await admission.CommitAsync(new CommitRequest
                                {
                                    ReservationId = reserve.RequestId,
                                    Meters = { MeterLimitTests.Usage("gpu_seconds", random.Next(0, (int)reserve.EstimateMeters[0].Quantity + 1)) },
                                });
                                break;
                            default:
                                await admission.ReleaseAsync(new ReleaseRequest { ReservationId = reserve.RequestId });
                                break;
                        }
                        Interlocked.Increment(ref acked);
                    }
                    catch (RpcException)
                    {
                        return; // the silo is gone
                    }
                }
            })).ToArray();

            var started = DateTime.UtcNow;
            await Task.Delay(TimeSpan.FromSeconds(2));
            while (Volatile.Read(ref acked) <= 100 && DateTime.UtcNow - started < TimeSpan.FromSeconds(30)) await Task.Delay(100);
            first.KillHard();
            stop.Cancel();
            await Task.WhenAll(load);
        }
        Assert.True(acked > 100, $"only {acked} calls were acknowledged before the kill");
        Assert.NotEmpty(ackedHolds);

        using var second = await ServerProcess.StartAsync(_dataDir);
        using var channel2 = GrpcChannel.ForAddress(second.Address);
        var (admission2, management2) = (new AdmissionClient(channel2), new ManagementClient(channel2));
        var before = await management2.StatusAsync(chain.TeamScope);
        var limit = Assert.Single(before.Meters);
        Assert.Equal((before.HeldNanos, before.SpentNanos), (limit.HeldQuantity, limit.UsedQuantity));
        Assert.True(limit.HeldQuantity >= ackedHolds.Values.Sum(h => h.EstimateMeters[0].Quantity));
        Assert.True(limit.UsedQuantity + limit.HeldQuantity <= MaxSeconds);

        // Every acknowledged hold is still held, once: the repeated reserve finds it and holds nothing more.
        foreach (var hold in ackedHolds.Values)
            Assert.Equal(Decision.Admitted, (await admission2.ReserveAsync(hold)).Decision);
        Assert.Equal(limit, Assert.Single((await management2.StatusAsync(chain.TeamScope)).Meters));

        foreach (var id in sent)
        {
            try
            {
                await admission2.ReleaseAsync(new ReleaseRequest { ReservationId = id });
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.FailedPrecondition)
            {
                // Never made durable or denied (not found), or committed.
            }
        }
        var after = Assert.Single((await management2.StatusAsync(chain.TeamScope)).Meters);
        Assert.Equal((limit.UsedQuantity, 0L), (after.UsedQuantity, after.HeldQuantity));
    }

    /// <summary>A data directory of the meters' first schema (no held quantities) opens at version 2 with its usage.</summary>
    [Fact]
    public async Task ADataDirectoryOfMetersVersion1IsUpgraded()
    {
        Directory.CreateDirectory(_dataDir);
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir };
        using (var connection = new SqliteConnection($"Data Source={options.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE schema_versions(component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO schema_versions VALUES('meters', 1);
                CREATE TABLE meters(name TEXT PRIMARY KEY, unit TEXT NOT NULL, price_nanos INTEGER NOT NULL, per_units INTEGER NOT NULL,
                    as_of TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE ledger_meters(reservation_id TEXT NOT NULL, meter TEXT NOT NULL, quantity INTEGER NOT NULL, nanos INTEGER NOT NULL,
                    committed_at_ms INTEGER NOT NULL, PRIMARY KEY(reservation_id, meter)) WITHOUT ROWID;
                CREATE TABLE scope_meter_usage(scope TEXT NOT NULL, period_start_ms INTEGER NOT NULL, meter TEXT NOT NULL, quantity INTEGER NOT NULL,
                    spent_nanos INTEGER NOT NULL, commits INTEGER NOT NULL, PRIMARY KEY(scope, period_start_ms, meter)) WITHOUT ROWID;
                INSERT INTO meters VALUES('gpu_seconds', 'second', 1, 1, '2026-11-30');
                INSERT INTO scope_meter_usage VALUES('team/old', 0, 'gpu_seconds', 40, 40, 2);
                """;
            command.ExecuteNonQuery();
        }

        await using (var silo = await Silo.StartAsync(options, l => l.SetMinimumLevel(LogLevel.Warning)))
        {
            using var channel = GrpcChannel.ForAddress(silo.Address);
            var (admission, management) = (new AdmissionClient(channel), new ManagementClient(channel));
            var status = await management.UpsertBudgetAsync(new UpsertBudgetRequest
            {
                Scope = "team/old", MeterLimits = { new MeterLimit { Meter = "gpu_seconds", MaxQuantity = 50 } },
            });
            Assert.Equal((40L, 0L), (status.Meters[0].UsedQuantity, status.Meters[0].HeldQuantity));
            var reserve = MeterLimitTests.Metered(new Attribution { Team = "old" }, 0, "gpu_seconds", 11);
            Assert.Equal((DenyReason.MeterLimit, 10L), ((await admission.ReserveAsync(reserve)).Reason, (await admission.ReserveAsync(reserve)).RemainingMeterQuantity));
        }
        using (var connection = new SqliteConnection($"Data Source={options.DatabasePath};Pooling=False"))
        {
            connection.Open();
            Assert.Equal(2, SchemaVersions.Get(connection, "meters"));
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
