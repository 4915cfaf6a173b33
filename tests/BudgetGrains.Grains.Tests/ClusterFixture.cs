using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Storage.Sqlite;
using BudgetGrains.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace BudgetGrains.Grains.Tests;

/// <summary>One Orleans test cluster (one silo) for the tests of a collection, its grains writing through the real
/// journal into an SQLite file of its own, as in dotnet/orleans' own tests, on a clock the tests move.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>The silo's clock (Orleans' too). One silo per test run of this collection, so one clock.</summary>
    public static readonly ManualTimeProvider Clock = new();

    public TestCluster Cluster { get; } = new TestClusterBuilder(1).AddSiloBuilderConfigurator<JournalOnSqlite>().Build();

    public IGrainFactory Grains => Cluster.GrainFactory;

    /// <summary>The silo's services (the store's read side, for checks).</summary>
    public IServiceProvider SiloServices => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services;

    public Task InitializeAsync() => Cluster.DeployAsync();

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        foreach (var store in JournalOnSqlite.Opened) await store.DisposeAsync();
    }

    /// <summary>What the silo executable registers for the grains, on a temporary SQLite file per silo.</summary>
    private sealed class JournalOnSqlite : ISiloConfigurator
    {
        public static readonly List<SqliteJournalStore> Opened = [];

        public void Configure(ISiloBuilder silo)
        {
            var directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"budgetgrains-grains-{Guid.NewGuid():N}"));
            var store = SqliteJournalServices.Open(Path.Combine(directory.FullName, "budgetgrains.db"));
            lock (Opened) Opened.Add(store);
            silo.Services.AddSqliteJournal(store).AddBudgetGrainServices()
                .AddSingleton<TimeProvider>(Clock)
                .AddSingleton(PriceCatalog.Empty)
                .AddSingleton(new AlertSinks([], AlertDeliveryPolicy.Default));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
