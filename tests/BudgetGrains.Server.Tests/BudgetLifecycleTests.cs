using BudgetGrains.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Server.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>Freeze, unfreeze and delete through the Management API, and opening a data directory of the first schema.</summary>
[Collection(SiloCollection.Name)]
public sealed class BudgetLifecycleTests(SiloFixture silo)
{
    [Fact]
    public async Task FreezingAScopeWithoutABudgetDeniesTheNextReserveAndUnfreezingAdmitsAgain()
    {
        var feature = Build.UniqueKey("kill");
        var attribution = new Attribution { Feature = feature, Tenant = feature };
        Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(Build.Reserve(attribution, 1))).Decision);

        var frozen = await silo.Management.FreezeBudgetAsync(new FreezeBudgetRequest { Scope = "feature/" + feature });
        Assert.True(frozen.Frozen);
        var denied = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 1));
        Assert.Equal((Decision.Denied, DenyReason.Frozen, "feature/" + feature), (denied.Decision, denied.Reason, denied.DeniedScope));
        // It is a budget now (no limit, frozen), so it is listed.
        var listed = await silo.Management.ListBudgetsAsync(new ListBudgetsRequest { ScopePrefix = "feature/" + feature });
        Assert.True(Assert.Single(listed.Budgets).Frozen);

        Assert.False((await silo.Management.UnfreezeBudgetAsync(new FreezeBudgetRequest { Scope = "feature/" + feature })).Frozen);
        Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(Build.Reserve(attribution, 1))).Decision);
    }

    [Fact]
    public async Task DeletingABudgetRemovesItsLimitAndListingButKeepsItsSpend()
    {
        var team = Build.UniqueKey("delete");
        await silo.Management.SetBudgetAsync("team/" + team, limitNanos: 10);
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Team = team }, 10));
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = 10 });

        Assert.True((await silo.Management.DeleteBudgetAsync(new DeleteBudgetRequest { Scope = "team/" + team })).Deleted);
        Assert.False((await silo.Management.DeleteBudgetAsync(new DeleteBudgetRequest { Scope = "team/" + team })).Deleted);

        var status = await silo.Management.StatusAsync("team/" + team);
        Assert.Equal((0L, 10L), (status.LimitNanos, status.SpentNanos));
        Assert.Empty((await silo.Management.ListBudgetsAsync(new ListBudgetsRequest { ScopePrefix = "team/" + team })).Budgets);
        Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Team = team }, 1_000))).Decision);
    }

    [Theory]
    [InlineData("")]
    [InlineData("team")]
    [InlineData("planet/earth")]
    public async Task LifecycleCallsRefuseABadScope(string scope)
    {
        foreach (var call in new Func<Task>[]
        {
            () => silo.Management.DeleteBudgetAsync(new DeleteBudgetRequest { Scope = scope }).ResponseAsync,
            () => silo.Management.FreezeBudgetAsync(new FreezeBudgetRequest { Scope = scope }).ResponseAsync,
            () => silo.Management.ResetBudgetAsync(new ResetBudgetRequest { Scope = scope }).ResponseAsync,
            () => silo.Management.ListPeriodsAsync(new ListPeriodsRequest { Scope = scope }).ResponseAsync,
            () => silo.Management.GetUsageAsync(new GetUsageRequest { Scope = scope }).ResponseAsync,
        })
            Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
    }

    /// <summary>A data directory written before periods existed (one counters row per scope, no schema version) opens with
    /// its counters, open holds and ledger intact.</summary>
    [Fact]
    public async Task ADataDirectoryOfTheFirstSchemaIsMigrated()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-migrate-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = dataDir };
        using (var connection = new SqliteConnection($"Data Source={options.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = FirstSchema + """
                INSERT INTO scope_counters VALUES('team/old', 700, 50, 1, 2, 3, 0, 0, 0);
                INSERT INTO ledger(reservation_id, chain, labels, estimate_nanos, actual_nanos, model, input_tokens, cached_input_tokens,
                    output_tokens, reasoning_tokens, outcome, late, overage, reserved_at_ms, committed_at_ms)
                VALUES('r1', '["team/old"]', '{}', 400, 300, '', 0, 0, 0, 0, '', 0, 0, 1, 2),
                      ('r2', '["team/old"]', '{}', 400, 400, '', 0, 0, 0, 0, '', 0, 0, 1, 2);
                """;
            command.ExecuteNonQuery();
        }

        await using (var migrated = await Silo.StartAsync(options, l => l.SetMinimumLevel(LogLevel.Warning)))
        {
            using var channel = GrpcChannel.ForAddress(migrated.Address);
            var status = await new ManagementClient(channel).StatusAsync("team/old");
            Assert.Equal((700L, 50L, 1, 2L, 3L), (status.SpentNanos, status.HeldNanos, status.OpenHolds, status.Commits, status.Denials));
            Assert.Equal(700, (await migrated.Store.SumLedgerByPeriodAsync(CancellationToken.None))[("team/old", 0)]);
        }
        Directory.Delete(dataDir, recursive: true);
    }

    private const string FirstSchema = """
        CREATE TABLE scope_counters(scope TEXT PRIMARY KEY, spent_nanos INTEGER NOT NULL, held_nanos INTEGER NOT NULL,
            open_holds INTEGER NOT NULL, commits INTEGER NOT NULL, denials INTEGER NOT NULL, calls INTEGER NOT NULL,
            retries INTEGER NOT NULL, depth_max_seen INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE ledger(seq INTEGER PRIMARY KEY, reservation_id TEXT NOT NULL UNIQUE, chain TEXT NOT NULL, labels TEXT NOT NULL,
            estimate_nanos INTEGER NOT NULL, actual_nanos INTEGER NOT NULL, model TEXT NOT NULL, input_tokens INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL,
            outcome TEXT NOT NULL, late INTEGER NOT NULL, overage INTEGER NOT NULL, reserved_at_ms INTEGER NOT NULL,
            committed_at_ms INTEGER NOT NULL);
        CREATE TABLE open_holds(expires_at_ms INTEGER NOT NULL, reservation_id TEXT NOT NULL,
            PRIMARY KEY(expires_at_ms, reservation_id)) WITHOUT ROWID;
        """;
}
