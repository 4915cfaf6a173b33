using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Storage.Sqlite.Budget;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Server.Tests;

/// <summary>
/// I4: a silo process under load is killed with SIGKILL and restarted on the same data directory.
/// Every acknowledged commit and admitted hold is still there, counters equal ledger sums, and
/// open holds expire on time after the restart.
/// </summary>
public sealed class DurabilityTests : IDisposable
{
    private const int Callers = 16;
    private static readonly TimeSpan LoadBeforeKill = TimeSpan.FromSeconds(2);

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-kill-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AcknowledgedCommitsAndHoldsSurviveKillDashNine()
    {
        var chain = Chain.Unique("i4");
        var expiring = new Attribution { Tenant = Build.UniqueKey("i4-expiring") };
        var sent = new ConcurrentBag<string>();
        var ackedCommits = new ConcurrentDictionary<string, CommitRequest>();
        var ackedHolds = new ConcurrentDictionary<string, ReserveRequest>();

        using (var first = await ServerProcess.StartAsync(_dataDir))
        using (var channel = GrpcChannel.ForAddress(first.Address))
        {
            var admission = new AdmissionClient(channel);
            await chain.CreateAsync(new ManagementClient(channel), generous: 1_000_000_000_000_000_000);
            for (var i = 0; i < 3; i++)
                await admission.ReserveAsync(Build.Reserve(expiring, 100, holdTtlMs: 4_000));

            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                var random = new Random(caller);
                while (!stop.IsCancellationRequested)
                {
                    var reserve = Build.Reserve(chain.Attribution, random.Next(1, 10_000));
                    sent.Add(reserve.RequestId);
                    try
                    {
                        if ((await admission.ReserveAsync(reserve)).Decision != Decision.Admitted) continue;
                        if (random.Next(3) == 0)
                        {
                            // Left open: it must still be held after the restart.
                            ackedHolds[reserve.RequestId] = reserve;
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

        using var second = await ServerProcess.StartAsync(_dataDir);
        using var channel2 = GrpcChannel.ForAddress(second.Address);
        var admission2 = new AdmissionClient(channel2);
        var management2 = new ManagementClient(channel2);
        var teamBefore = await management2.StatusAsync(chain.TeamScope);
        await AssertCountersEqualLedgerAsync(management2, chain.Scopes);

        // Every acknowledged commit is recorded: replaying it gives the same answer and charges nothing more.
        foreach (var commit in ackedCommits.Values)
            Assert.Equal(commit.ActualNanos, (await admission2.CommitAsync(commit)).ChargedNanos);
        // Every acknowledged hold is still held.
        foreach (var hold in ackedHolds.Values)
            Assert.Equal(Decision.Admitted, (await admission2.ReserveAsync(hold)).Decision);
        var team = await management2.StatusAsync(chain.TeamScope);
        Assert.Equal(teamBefore.SpentNanos, team.SpentNanos);
        // ...and the repeated reserves found them: no second hold (an open hold's state lives in the hold index only).
        Assert.Equal((teamBefore.HeldNanos, teamBefore.OpenHolds), (team.HeldNanos, team.OpenHolds));
        Assert.True(team.SpentNanos >= ackedCommits.Values.Sum(c => c.ActualNanos));
        Assert.True(team.HeldNanos >= ackedHolds.Values.Sum(h => h.EstimateNanos));

        // Holds taken before the kill expire on time after the restart (their timers were re-armed).
        var expired = await Build.EventuallyAsync(async () =>
            (await management2.StatusAsync("tenant/" + expiring.Tenant)).HeldNanos == 0, TimeSpan.FromSeconds(20));
        Assert.True(expired, "holds from before the kill did not expire after the restart");

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
        foreach (var scope in chain.Scopes)
            Assert.Equal((0L, 0), ((await management2.StatusAsync(scope)).HeldNanos, (await management2.StatusAsync(scope)).OpenHolds));
        await AssertCountersEqualLedgerAsync(management2, chain.Scopes);
    }

    private async Task AssertCountersEqualLedgerAsync(ManagementClient management, IEnumerable<string> scopes)
    {
        var ledger = await new SqliteBudgetStore(OpenReadOnly).SumLedgerByScopeAsync(CancellationToken.None);
        foreach (var scope in scopes)
            Assert.Equal(ledger.GetValueOrDefault(scope), (await management.StatusAsync(scope)).SpentNanos);
    }

    private SqliteConnection OpenReadOnly()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "budgetgrains.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
