using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace BudgetGrains.Grains.Tests;

/// <summary>One Orleans test cluster (one silo) for the tests of a collection, its grains writing through the real
/// journal into an SQLite file of its own, as in dotnet/orleans' own tests.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new TestClusterBuilder(1).AddSiloBuilderConfigurator<JournalOnSqlite>().Build();

    public IGrainFactory Grains => Cluster.GrainFactory;

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
                .AddSingleton(TimeProvider.System)
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
