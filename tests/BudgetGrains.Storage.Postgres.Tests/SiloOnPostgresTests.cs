using System.Collections.Concurrent;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>A real silo (Silo.StartAsync) with Storage=postgres: I1 and I2 under concurrent reserves and commits, and
/// everything still there when another silo starts on the same database.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SiloOnPostgresTests(PostgresFixture postgres) : IDisposable
{
    private const int Callers = 64;
    private const int Admits = 100;
    private const long Estimate = 1_000;

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-pg-silo-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task ConcurrentReservesAdmitExactlyTheCapAndCountersEqualTheLedger()
    {
        var database = await postgres.NewDatabaseAsync();
        var options = Options(database);
        const string team = "team/tight", costCenter = "cost_center/cc", tenant = "tenant/acme";
        var attribution = new Attribution(Tenant: "acme", Agent: "bot", Team: "tight", CostCenter: "cc");
        var admitted = new ConcurrentBag<string>();
        var committed = new ConcurrentDictionary<string, long>();

        await using (var silo = await Silo.StartAsync(options, Quiet))
        {
            var budgets = new BudgetAdministration(silo.Grains, silo.Store);
            await Upsert(budgets, costCenter, 1_000_000_000, "");
            await Upsert(budgets, team, Admits * Estimate, costCenter); // the cap: exactly Admits holds of Estimate
            await Upsert(budgets, "agent/bot", 1_000_000_000, team);
            await Upsert(budgets, tenant, 1_000_000_000, "");
            var admission = new AdmissionApi(silo.Grains, options.PriceCatalog());

            // Three times as many reserves as the cap admits, from 64 callers at once.
            await Parallel.ForAsync(0, Admits * 3, new ParallelOptions { MaxDegreeOfParallelism = Callers }, async (i, _) =>
            {
                var id = "req-" + i;
                var answer = await admission.ReserveAsync(new ReserveCommand(id, attribution, Estimate, null, default, 0));
                Assert.True(answer.IsSuccess, answer.Failure?.Message);
                if (!answer.Value!.Admitted) return;
                admitted.Add(id);
                if (i % 2 == 0)
                {
                    // Committing the whole estimate keeps the money spent: the cap still admits exactly Admits holds.
                    var actual = Estimate;
                    var commit = await admission.CommitAsync(new CommitCommand(id, actual, null, "ok"));
                    Assert.True(commit.IsSuccess, commit.Failure?.Message);
                    committed[id] = actual;
                }
            });
            Assert.Equal(Admits, admitted.Count); // I1: exactly the cap, not one more

            var status = (await budgets.GetAsync(team)).Value!;
            Assert.Equal(committed.Values.Sum(), status.SpentNanos);
            Assert.Equal((Admits - committed.Count) * Estimate, status.HeldNanos);
            await AssertCountersEqualLedgerAsync(silo);

            // I6 until clustering: a second silo on the same database (with a data directory of its own) is refused while this one runs.
            var elsewhere = Options(database);
            elsewhere.DataDir = _dataDir + "-second";
            var second = await Assert.ThrowsAsync<InvalidOperationException>(() => Silo.StartAsync(elsewhere, Quiet));
            Assert.Contains("holds its writer lock", second.Message, StringComparison.Ordinal);
        }

        // A new silo on the same database: the same counters, the same open holds, and the remaining holds release to zero.
        await using (var silo = await Silo.StartAsync(options, Quiet))
        {
            var budgets = new BudgetAdministration(silo.Grains, silo.Store);
            var status = (await budgets.GetAsync(team)).Value!;
            Assert.Equal((committed.Values.Sum(), (Admits - committed.Count) * Estimate), (status.SpentNanos, status.HeldNanos));
            var admission = new AdmissionApi(silo.Grains, options.PriceCatalog());
            foreach (var id in admitted.Except(committed.Keys)) Assert.True((await admission.ReleaseAsync(id)).Value!.Released);
            foreach (var scope in new[] { team, costCenter, tenant, "agent/bot" })
                Assert.Equal((0L, 0), ((await budgets.GetAsync(scope)).Value!.HeldNanos, (await budgets.GetAsync(scope)).Value!.OpenHolds));
            await AssertCountersEqualLedgerAsync(silo);
        }
    }

    [SkippableFact]
    public async Task AMissingConnectionStringOrUnknownStorageIsRefusedNamingTheSetting()
    {
        await postgres.NewDatabaseAsync();
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => Silo.StartAsync(Options(""), Quiet));
        Assert.Contains("BudgetGrains:PostgresConnectionString is empty", missing.Message, StringComparison.Ordinal);
        var unknown = Options("");
        unknown.Storage = "mysql";
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Silo.StartAsync(unknown, Quiet));
        Assert.Contains("BudgetGrains:Storage 'mysql' is not a storage kind", error.Message, StringComparison.Ordinal);
    }

    /// <summary>I2: every scope's spent equals the ledger's sum over the chains that contain it, per period too.</summary>
    internal static async Task AssertCountersEqualLedgerAsync(Silo silo)
    {
        var ledger = await silo.Store.SumLedgerByScopeAsync(CancellationToken.None);
        foreach (var (scope, counters) in await silo.Store.ReadAllCountersAsync(CancellationToken.None))
            Assert.Equal(ledger.GetValueOrDefault(scope), counters.SpentNanos);
        Assert.Equal((await silo.Store.SumLedgerByPeriodAsync(CancellationToken.None)).OrderBy(p => p.Key).ToList(),
            (await silo.Store.SpentByPeriodAsync(CancellationToken.None)).Where(p => p.Value != 0).OrderBy(p => p.Key).ToList());
    }

    private SiloOptions Options(string database) => new()
    {
        Listen = "127.0.0.1:0",
        Http = "none",
        DataDir = _dataDir,
        Storage = "postgres",
        PostgresConnectionString = database,
        StatisticsInterval = TimeSpan.Zero,
        DefaultPricesFile = "",
    };

    private static async Task Upsert(BudgetAdministration budgets, string scope, long limit, string parent)
    {
        var result = await budgets.UpsertAsync(new BudgetSettings(scope, limit, BudgetPeriod.None, [50, 80, 100], parent, false, "USD"));
        Assert.True(result.IsSuccess, result.Failure?.Message);
    }

    private static void Quiet(ILoggingBuilder logging) => logging.SetMinimumLevel(LogLevel.Warning);

    public void Dispose()
    {
        foreach (var directory in new[] { _dataDir, _dataDir + "-second" })
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }
}
