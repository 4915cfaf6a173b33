using System.Collections.Concurrent;
using System.Diagnostics;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests;
using BudgetGrains.Storage.Postgres.Budget;
using Grpc.Core;
using Grpc.Net.Client;
using Npgsql;
using Xunit.Abstractions;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>
/// Three silo processes in one Orleans cluster on one PostgreSQL database (issue 10): a cap admits exactly N cluster-wide,
/// and a kill -9 of the silo hosting the hot scopes under load loses nothing (I2, I3, I4). One cluster per test; both
/// tests together take well under a minute.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterTests(PostgresFixture postgres, ITestOutputHelper output) : IDisposable
{
    internal const int Silos = 3;
    private const int Callers = 64;
    private const long Generous = 1_000_000_000_000_000_000;
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "budgetgrains-cluster-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task A_cap_admits_exactly_N_cluster_wide_tight_at_the_leaf_the_middle_and_the_root()
    {
        var database = await postgres.NewDatabaseAsync();
        var silos = await StartClusterAsync(database);
        try
        {
            var channels = silos.Select(s => GrpcChannel.ForAddress(s.Address)).ToArray();
            const int n = 25;
            const long amount = 1_000;
            foreach (var tight in new[] { "leaf", "middle", "root" })
            {
                var key = tight + "-" + Guid.NewGuid().ToString("N")[..8];
                var (leaf, middle, root) = ("agent/" + key, "team/" + key, "tenant/" + key);
                var management = new ManagementClient(channels[0]);
                long Limit(string level) => level == tight ? n * amount : Generous;
                await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = root, LimitNanos = Limit("root") });
                await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = middle, LimitNanos = Limit("middle"), Parent = root });
                await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = leaf, LimitNanos = Limit("leaf"), Parent = middle });
                var attribution = new Attribution { Tenant = key, Agent = key, Feature = key };

                var admitted = 0;
                await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
                {
                    var admission = new AdmissionClient(channels[caller % Silos]);
                    while (true)
                    {
                        var reserve = Reserve(attribution, amount);
                        var answer = await WithRetriesAsync(() => admission.ReserveAsync(reserve).ResponseAsync);
                        if (answer.Decision != Decision.Admitted) return;
                        Interlocked.Increment(ref admitted);
                    }
                })));
                Assert.Equal(n, admitted);
                foreach (var scope in new[] { leaf, middle, root })
                    Assert.Equal(n * amount, (await StatusAsync(new ManagementClient(channels[2]), scope)).HeldNanos);
            }
        }
        finally
        {
            foreach (var silo in silos) silo.Dispose();
        }
    }

    [SkippableFact]
    public async Task B_kill_dash_nine_of_the_silo_hosting_the_hot_scopes_loses_nothing()
    {
        var database = await postgres.NewDatabaseAsync();
        var silos = await StartClusterAsync(database);
        try
        {
            var channels = silos.Select(s => GrpcChannel.ForAddress(s.Address)).ToArray();
            var key = "kill-" + Guid.NewGuid().ToString("N")[..8];
            string[] scopes = ["agent/" + key, "team/" + key, "tenant/" + key, "feature/" + key];
            var management = new ManagementClient(channels[0]);
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scopes[2], LimitNanos = Generous });
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scopes[1], LimitNanos = Generous, Parent = scopes[2] });
            await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scopes[0], LimitNanos = Generous, Parent = scopes[1] });
            var attribution = new Attribution { Tenant = key, Agent = key, Feature = key };
            var sent = new ConcurrentBag<string>();
            var warmUp = Reserve(attribution, 1);
            sent.Add(warmUp.RequestId);
            await new AdmissionClient(channels[0]).ReserveAsync(warmUp); // activates the whole chain
            // The silo that activated the hot middle scope (each activation logs its epoch at Debug).
            var victim = Array.FindIndex(silos, s => s.Output.Any(line => line.Contains($"Scope {scopes[1]} activated", StringComparison.Ordinal)));
            Assert.True(victim >= 0, "no silo logged the activation of " + scopes[1]);
            var survivors = Enumerable.Range(0, Silos).Where(i => i != victim).ToArray();
            // Short holds taken through the silo about to die: they must still expire on time (their reservations are
            // woken on a survivor when membership declares the silo dead).
            var expiring = new Attribution { Tenant = key + "-expiring" };
            for (var i = 0; i < 3; i++)
                Assert.Equal(Decision.Admitted, (await new AdmissionClient(channels[victim]).ReserveAsync(
                    new ReserveRequest(Reserve(expiring, 100)) { HoldTtlMs = 6_000 })).Decision);

            var ackedCommits = new ConcurrentDictionary<string, CommitRequest>();
            var ackedHolds = new ConcurrentDictionary<string, ReserveRequest>();
            var inFlightAtKill = new ConcurrentDictionary<string, (ReserveRequest Request, ReserveResponse Answer)>();
            var killedAt = 0L;
            var firstAfterKill = long.MaxValue;
            var clock = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                var random = new Random(caller);
                var home = caller % Silos;
                while (!stop.IsCancellationRequested)
                {
                    var reserve = Reserve(attribution, random.Next(1, 10_000));
                    sent.Add(reserve.RequestId);
                    var sentAt = clock.ElapsedTicks;
                    var (answer, failedOver) = await WithFailoverAsync(home, i => new AdmissionClient(channels[i]).ReserveAsync(reserve).ResponseAsync);
                    if (Volatile.Read(ref killedAt) is var k and > 0 && sentAt > k) InterlockedMin(ref firstAfterKill, clock.ElapsedTicks);
                    if (failedOver) inFlightAtKill[reserve.RequestId] = (reserve, answer);
                    if (answer.Decision != Decision.Admitted) continue;
                    if (random.Next(3) == 0)
                    {
                        ackedHolds[reserve.RequestId] = reserve;
                        continue;
                    }
                    var commit = new CommitRequest { ReservationId = reserve.RequestId, ActualNanos = random.Next(0, 10_000), Outcome = "ok" };
                    await WithFailoverAsync(home, i => new AdmissionClient(channels[i]).CommitAsync(commit).ResponseAsync);
                    ackedCommits[reserve.RequestId] = commit;
                }

                async Task<(T, bool)> WithFailoverAsync<T>(int first, Func<int, Task<T>> call)
                {
                    var deadline = DateTime.UtcNow + RetryFor;
                    var failed = false;
                    for (var attempt = 0; ; attempt++)
                    {
                        var silo = first;
                        if (Volatile.Read(ref killedAt) > 0 && silo == victim) silo = survivors[caller % survivors.Length];
                        if (attempt > 0) silo = survivors[(caller + attempt) % survivors.Length];
                        try
                        {
                            return (await call(silo), failed);
                        }
                        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
                            or StatusCode.DeadlineExceeded or StatusCode.Cancelled && DateTime.UtcNow < deadline)
                        {
                            failed = true;
                            await Task.Delay(50);
                        }
                    }
                }
            })).ToArray();

            await Task.Delay(TimeSpan.FromSeconds(2));
            Volatile.Write(ref killedAt, clock.ElapsedTicks);
            silos[victim].KillHard();
            await Task.Delay(TimeSpan.FromSeconds(6));
            stop.Cancel();
            await Task.WhenAll(load);
            var gap = TimeSpan.FromTicks((long)((firstAfterKill - killedAt) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency)));
            output.WriteLine($"failover gap (kill -9 to the first admission of a request sent after it): {gap.TotalSeconds:F2} s; " +
                $"{ackedCommits.Count} commits and {ackedHolds.Count} holds acknowledged; {inFlightAtKill.Count} requests failed over");
            // The hot scope moved: a survivor activated it again, with a newer epoch.
            var moved = survivors.SelectMany(i => silos[i].Output).Where(line => line.Contains($"Scope {scopes[1]} activated", StringComparison.Ordinal)).ToList();
            output.WriteLine(string.Join("\n", moved.Concat(survivors.SelectMany(i => silos[i].Output).Where(l => l.Contains("declared dead", StringComparison.Ordinal)))));
            Assert.NotEmpty(moved);
            Assert.True(firstAfterKill != long.MaxValue, "no admission succeeded after the kill");
            Assert.True(gap < TimeSpan.FromSeconds(10), $"failover gap {gap}");
            Assert.True(ackedCommits.Count > 20, $"only {ackedCommits.Count} commits acknowledged");

            var survivor = channels[survivors[0]];
            var admission = new AdmissionClient(survivor);
            var admin = new ManagementClient(survivor);
            var expiryDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while ((await StatusAsync(admin, "tenant/" + expiring.Tenant)).HeldNanos != 0 && DateTime.UtcNow < expiryDeadline) await Task.Delay(100);
            Assert.Equal((0L, 0), ((await StatusAsync(admin, "tenant/" + expiring.Tenant)).HeldNanos, (await StatusAsync(admin, "tenant/" + expiring.Tenant)).OpenHolds));
            await AssertCountersEqualLedgerAsync(database, admin, scopes);
            // I3: the requests that failed over get the same answers again, through the other survivor.
            var other = new AdmissionClient(channels[survivors[1]]);
            foreach (var (request, answer) in inFlightAtKill.Values)
            {
                var again = await other.ReserveAsync(request);
                Assert.Equal((answer.Decision, answer.ReservationId), (again.Decision, again.ReservationId));
            }
            // I4: every acknowledged commit is recorded (same answer, nothing charged twice), every acknowledged hold held.
            var before = await StatusAsync(admin, scopes[1]);
            foreach (var commit in ackedCommits.Values)
            {
                CommitResponse again;
                try
                {
                    again = await admission.CommitAsync(commit);
                }
                catch (RpcException e)
                {
                    // What the silos said about this reservation, to tell a lost commit from a refused repeat.
                    var said = silos.SelectMany(s => s.Output).Where(l => l.Contains(commit.ReservationId, StringComparison.Ordinal)
                        || l.Contains("Exception", StringComparison.Ordinal) || l.Contains("fail", StringComparison.Ordinal)).Take(60);
                    throw new Xunit.Sdk.XunitException($"the repeated commit of {commit.ReservationId} failed: {e.Status}\n{string.Join("\n", said)}");
                }
                Assert.Equal(commit.ActualNanos, again.ChargedNanos);
            }
            foreach (var hold in ackedHolds.Values) Assert.Equal(Decision.Admitted, (await admission.ReserveAsync(hold)).Decision);
            var after = await StatusAsync(admin, scopes[1]);
            Assert.Equal(before.SpentNanos, after.SpentNanos);
            Assert.True(after.SpentNanos >= ackedCommits.Values.Sum(c => c.ActualNanos));
            Assert.True(after.HeldNanos >= ackedHolds.Values.Sum(h => h.EstimateNanos));

            // Release everything ever sent that is not committed: nothing stays held, counters still equal the ledger (I2).
            foreach (var id in sent.Except(ackedCommits.Keys))
            {
                try
                {
                    await admission.ReleaseAsync(new ReleaseRequest { ReservationId = id });
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.FailedPrecondition)
                {
                    // Never admitted or never made durable (not found), or committed.
                }
            }
            foreach (var scope in scopes.Take(3))
                Assert.Equal((0L, 0), ((await StatusAsync(admin, scope)).HeldNanos, (await StatusAsync(admin, scope)).OpenHolds));
            await AssertCountersEqualLedgerAsync(database, admin, scopes);
        }
        finally
        {
            foreach (var silo in silos) silo.Dispose();
        }
    }

    [SkippableFact]
    public async Task C_a_frozen_silo_resumed_after_its_scopes_moved_writes_nothing()
    {
        var database = await postgres.NewDatabaseAsync();
        var silos = await StartClusterAsync(database);
        try
        {
            var channels = silos.Select(s => GrpcChannel.ForAddress(s.Address)).ToArray();
            const int n = 20;
            const long amount = 1_000;
            var key = "stop-" + Guid.NewGuid().ToString("N")[..8];
            var team = "team/" + key;
            await new ManagementClient(channels[0]).UpsertBudgetAsync(new UpsertBudgetRequest { Scope = team, LimitNanos = n * amount });
            var attribution = new Attribution { Tenant = key, Team = key };
            var victim = Array.FindIndex(silos, s => s.Output.Any(line => line.Contains($"Scope {team} activated", StringComparison.Ordinal)));
            Assert.True(victim >= 0, "no silo logged the activation of " + team);
            var survivors = Enumerable.Range(0, Silos).Where(i => i != victim).ToArray();
            var admitted = new ConcurrentBag<string>();
            for (var i = 0; i < 5; i++)
            {
                var reserve = Reserve(attribution, amount);
                Assert.Equal(Decision.Admitted, (await new AdmissionClient(channels[victim]).ReserveAsync(reserve)).Decision);
                admitted.Add(reserve.RequestId);
            }

            Signal(silos[victim].Pid, "STOP");
            // Requests to the frozen silo wait in its sockets; it handles them with its stale activations when it resumes.
            var stale = Enumerable.Range(0, 10).Select(_ => Reserve(attribution, amount)).ToList();
            var staleCalls = stale.Select(r => Task.Run(async () =>
            {
                try
                {
                    return (await new AdmissionClient(channels[victim]).ReserveAsync(r, deadline: DateTime.UtcNow.AddSeconds(30))).Decision.ToString();
                }
                catch (RpcException e)
                {
                    return e.StatusCode.ToString();
                }
            })).ToList();
            // The survivors take over the scope (membership declares the frozen silo dead) and admit up to the cap.
            var clock = Stopwatch.StartNew();
            var denied = false;
            while (!denied)
            {
                var reserve = Reserve(attribution, amount);
                var answer = await WithAnyRetriesAsync(() => new AdmissionClient(channels[survivors[admitted.Count % 2]]).ReserveAsync(reserve).ResponseAsync);
                if (answer.Decision == Decision.Admitted) admitted.Add(reserve.RequestId);
                else denied = true;
            }
            output.WriteLine($"survivors reached the cap {clock.Elapsed.TotalSeconds:F1} s after the freeze");
            Assert.Equal(n, admitted.Count);

            Signal(silos[victim].Pid, "CONT");
            var answers = await Task.WhenAll(staleCalls);
            output.WriteLine("the resumed silo answered: " + string.Join(", ", answers));
            Assert.DoesNotContain(nameof(Decision.Admitted), answers);
            foreach (var line in silos[victim].Output.Where(l => l.Contains("refused", StringComparison.Ordinal) || l.Contains("dead", StringComparison.OrdinalIgnoreCase)).Take(10))
                output.WriteLine("frozen silo: " + line);

            var admin = new ManagementClient(channels[survivors[0]]);
            var status = await StatusAsync(admin, team);
            Assert.Equal((n * amount, n), (status.HeldNanos, status.OpenHolds));
            await using var dataSource = NpgsqlDataSource.Create(database);
            await using var command = dataSource.CreateCommand("SELECT held_nanos, open_holds FROM scope_holds WHERE scope = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = team });
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal((n * amount, n), (reader.GetInt64(0), reader.GetInt32(1)));
        }
        finally
        {
            foreach (var silo in silos)
            {
                if (!silo.HasExited) Signal(silo.Pid, "CONT");
                silo.Dispose();
            }
        }
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private static async Task<T> WithAnyRetriesAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + RetryFor;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
                or StatusCode.DeadlineExceeded && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private Task<ServerProcess[]> StartClusterAsync(string database) => StartClusterAsync(_root, database);

    /// <summary>Three silo processes (data directories under <paramref name="root"/>) in one cluster on
    /// <paramref name="database"/>, each with the same <paramref name="settings"/>; also used by ClusterAlertTests.</summary>
    internal static async Task<ServerProcess[]> StartClusterAsync(string root, string database, params string[] settings) =>
        await Task.WhenAll(Enumerable.Range(0, Silos).Select(i => ServerProcess.StartAsync(Path.Combine(root, "silo" + i),
            ["--storage", "postgres", "--postgres", database, "--cluster", "true", "--http", "none",
            "--Logging:LogLevel:BudgetGrains.Grains.Scopes.ScopeGrain=Debug", .. settings])));

    /// <summary>Retries UNAVAILABLE (a scope moving between silos) for up to a minute; also used by AzureProfileTests.</summary>
    internal static async Task<T> WithRetriesAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + RetryFor;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }
    }

    private static void InterlockedMin(ref long target, long value)
    {
        for (var current = Volatile.Read(ref target); value < current; current = Volatile.Read(ref target))
            if (Interlocked.CompareExchange(ref target, value, current) == current) return;
    }

    private static async Task AssertCountersEqualLedgerAsync(string database, ManagementClient management, IEnumerable<string> scopes)
    {
        await using var dataSource = NpgsqlDataSource.Create(database);
        var ledger = await new PostgresBudgetStore(dataSource).SumLedgerByScopeAsync(CancellationToken.None);
        foreach (var scope in scopes) Assert.Equal(ledger.GetValueOrDefault(scope), (await StatusAsync(management, scope)).SpentNanos);
    }

    private static Task<BudgetStatus> StatusAsync(ManagementClient management, string scope) =>
        management.GetBudgetAsync(new GetBudgetRequest { Scope = scope }).ResponseAsync;

    internal static ReserveRequest Reserve(Attribution attribution, long estimateNanos) => new()
    {
        RequestId = "req-" + Guid.NewGuid().ToString("N"),
        Attribution = attribution,
        EstimateNanos = estimateNanos,
    };

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
