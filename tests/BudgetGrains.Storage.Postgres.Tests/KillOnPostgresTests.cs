using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests;
using BudgetGrains.Storage.Postgres.Budget;
using Grpc.Core;
using Grpc.Net.Client;
using Npgsql;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>
/// I4 on PostgreSQL: a silo process under load is killed with SIGKILL and a new one started on the same database. Every
/// acknowledged commit and admitted hold is still there, counters equal ledger sums, and holds expire on time after the
/// restart. The PostgreSQL counterpart of the SQLite DurabilityTests.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class KillOnPostgresTests(PostgresFixture postgres) : IDisposable
{
    private const int Callers = 16;
    private const long Generous = 1_000_000_000_000_000_000;
    private static readonly TimeSpan LoadBeforeKill = TimeSpan.FromSeconds(2);

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-pg-kill-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task AcknowledgedCommitsAndHoldsSurviveKillDashNine()
    {
        var database = await postgres.NewDatabaseAsync();
        string[] settings = ["--storage", "postgres", "--postgres", database];
        var key = "i4-" + Guid.NewGuid().ToString("N")[..8];
        var attribution = new Attribution { Tenant = key, Agent = key, Feature = key };
        string[] scopes = ["agent/" + key, "feature/" + key, "team/" + key, "tenant/" + key];
        var expiring = new Attribution { Tenant = key + "-expiring" };
        var sent = new ConcurrentBag<string>();
        var ackedCommits = new ConcurrentDictionary<string, CommitRequest>();
        var ackedHolds = new ConcurrentDictionary<string, ReserveRequest>();

        using (var first = await ServerProcess.StartAsync(_dataDir, settings))
        using (var channel = GrpcChannel.ForAddress(first.Address))
        {
            var admission = new AdmissionClient(channel);
            var management = new ManagementClient(channel);
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scopes[2], LimitNanos = Generous });
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scopes[0], LimitNanos = Generous, Parent = scopes[2] });
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scopes[1], LimitNanos = Generous, Parent = scopes[2] });
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scopes[3], LimitNanos = Generous });
            for (var i = 0; i < 3; i++) await admission.ReserveAsync(Reserve(expiring, 100, holdTtlMs: 4_000));

            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                var random = new Random(caller);
                while (!stop.IsCancellationRequested)
                {
                    var reserve = Reserve(attribution, random.Next(1, 10_000));
                    sent.Add(reserve.RequestId);
                    try
                    {
                        if ((await admission.ReserveAsync(reserve)).Decision != Decision.Admitted) continue;
                        if (random.Next(3) == 0)
                        {
                            ackedHolds[reserve.RequestId] = reserve; // left open: it must still be held after the restart
                            continue;
                        }
                        var commit = new CommitRequest { ReservationId = reserve.RequestId, ActualNanos = random.Next(0, 10_000), Outcome = "ok" };
                        await admission.CommitAsync(commit);
                        ackedCommits[reserve.RequestId] = commit;
                    }
                    catch (RpcException)
                    {
                        return; // the silo is gone
                    }
                }
            })).ToArray();

            // At least LoadBeforeKill of load, and on a busy machine longer (bounded), until enough commits were acknowledged
            // for the check after the restart to say something.
            var started = DateTime.UtcNow;
            await Task.Delay(LoadBeforeKill);
            while (ackedCommits.Count <= 50 && DateTime.UtcNow - started < TimeSpan.FromSeconds(30)) await Task.Delay(100);
            first.KillHard();
            stop.Cancel();
            await Task.WhenAll(load);
        }
        Assert.True(ackedCommits.Count > 50, $"only {ackedCommits.Count} commits were acknowledged before the kill");

        using var second = await ServerProcess.StartAsync(_dataDir, settings);
        using var channel2 = GrpcChannel.ForAddress(second.Address);
        var admission2 = new AdmissionClient(channel2);
        var management2 = new ManagementClient(channel2);
        var teamBefore = await StatusAsync(management2, scopes[2]);
        await AssertCountersEqualLedgerAsync(database, management2, scopes);

        // Every acknowledged commit is recorded: replaying it gives the same answer and charges nothing more.
        foreach (var commit in ackedCommits.Values) Assert.Equal(commit.ActualNanos, (await admission2.CommitAsync(commit)).ChargedNanos);
        // Every acknowledged hold is still held.
        foreach (var hold in ackedHolds.Values) Assert.Equal(Decision.Admitted, (await admission2.ReserveAsync(hold)).Decision);
        var team = await StatusAsync(management2, scopes[2]);
        Assert.Equal(teamBefore.SpentNanos, team.SpentNanos);
        Assert.True(team.SpentNanos >= ackedCommits.Values.Sum(c => c.ActualNanos));
        Assert.True(team.HeldNanos >= ackedHolds.Values.Sum(h => h.EstimateNanos));

        // Holds taken before the kill expire on time after the restart (their timers were re-armed).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await StatusAsync(management2, "tenant/" + expiring.Tenant)).HeldNanos != 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(0, (await StatusAsync(management2, "tenant/" + expiring.Tenant)).HeldNanos);

        // Release everything that was ever sent (acknowledged or in flight): nothing stays held.
        foreach (var id in sent.Except(ackedCommits.Keys))
        {
            try
            {
                await admission2.ReleaseAsync(new ReleaseRequest { ReservationId = id });
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.FailedPrecondition)
            {
                // Never made durable (not found), or its in-flight commit was made durable (committed).
            }
        }
        foreach (var scope in scopes)
        {
            var status = await StatusAsync(management2, scope);
            Assert.Equal((0L, 0), (status.HeldNanos, status.OpenHolds));
        }
        await AssertCountersEqualLedgerAsync(database, management2, scopes);
    }

    private static async Task AssertCountersEqualLedgerAsync(string database, ManagementClient management, IEnumerable<string> scopes)
    {
        await using var dataSource = NpgsqlDataSource.Create(database);
        var ledger = await new PostgresBudgetStore(dataSource).SumLedgerByScopeAsync(CancellationToken.None);
        foreach (var scope in scopes) Assert.Equal(ledger.GetValueOrDefault(scope), (await StatusAsync(management, scope)).SpentNanos);
    }

    private static Task<BudgetStatus> StatusAsync(ManagementClient management, string scope) =>
        management.GetBudgetAsync(new GetBudgetRequest { Scope = scope }).ResponseAsync;

    private static ReserveRequest Reserve(Attribution attribution, long estimateNanos, long holdTtlMs = 0) => new()
    {
        RequestId = "req-" + Guid.NewGuid().ToString("N"),
        Attribution = attribution,
        EstimateNanos = estimateNanos,
        HoldTtlMs = holdTtlMs,
    };

    public void Dispose()
    {
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
