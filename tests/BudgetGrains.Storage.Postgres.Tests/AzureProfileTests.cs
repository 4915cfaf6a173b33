using System.Diagnostics;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Grains;
using BudgetGrains.Server.Hosting;
using BudgetGrains.Server.Tests;
using Grpc.Net.Client;
using Npgsql;
using Xunit.Abstractions;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>
/// The Azure profile (docs/decisions/0031-azure-profile.md) against a real Azurite started by the test on loopback: two
/// silo processes find each other through Orleans' Azure Table membership, a cap holds across both, the journal stays on
/// PostgreSQL, and the learned estimates (Orleans grain state) land in Azure Blob or Table storage and are read back from
/// there by a silo started after both stopped. Without Azurite (npm ci in tests/azurite) or PostgreSQL the test skips,
/// except under CI=true.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AzureProfileTests(PostgresFixture postgres, ITestOutputHelper output) : IDisposable
{
    /// <summary>Orleans' Azure Table membership table (Microsoft.Orleans.Clustering.AzureStorage's default name).</summary>
    private const string MembershipTable = Orleans.Clustering.AzureStorage.AzureStorageClusteringOptions.DEFAULT_TABLE_NAME;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "budgetgrains-azure-" + Guid.NewGuid().ToString("N"));

    [SkippableTheory]
    [InlineData(ClusterProfile.AzureBlobGrainStorage)]
    [InlineData(ClusterProfile.AzureTableGrainStorage)]
    public async Task Two_silos_join_through_Azurite_tables_admit_across_each_other_and_keep_grain_state_in_Azure(string grainStorage)
    {
        AzuriteServer.RequireInstalled();
        await using var azurite = await AzuriteServer.StartAsync();
        var database = await postgres.NewDatabaseAsync();
        var clusterId = "az-" + Guid.NewGuid().ToString("N")[..8];
        string[] settings = ["--storage", "postgres", "--postgres", database, "--cluster", "true", "--cluster-id", clusterId,
            "--membership", ClusterProfile.AzureMembership, "--grain-storage", grainStorage, "--azure-storage", azurite.ConnectionString,
            "--http", "none"];
        var silos = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => ServerProcess.StartAsync(Path.Combine(_root, "silo" + i), settings)));
        try
        {
            // Membership: both silos are Active rows of this cluster in Azurite's table (none in PostgreSQL).
            var tables = new TableServiceClient(azurite.ConnectionString);
            var members = tables.GetTableClient(MembershipTable).Query<TableEntity>()
                .Where(e => e.PartitionKey.Contains(clusterId, StringComparison.Ordinal) && e.ContainsKey("Status")).ToList();
            output.WriteLine(string.Join("\n", members.Select(m => $"{m.RowKey}: {m.GetString("Status")}")));
            Assert.Equal(2, members.Count(m => m.GetString("Status") == "Active"));
            Assert.False(await TableExistsAsync(database, "orleansmembershiptable"), "the PostgreSQL membership tables were created");

            // Admissions across both silos: a cap of n admits exactly n, whichever silo each reserve reaches.
            var channels = silos.Select(s => GrpcChannel.ForAddress(s.Address)).ToArray();
            const int n = 12;
            const long amount = 1_000;
            var key = "az-" + Guid.NewGuid().ToString("N")[..8];
            await new ManagementClient(channels[0]).UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/" + key, LimitNanos = n * amount });
            var team = new Attribution { Tenant = key, Team = key };
            var admitted = 0;
            for (var i = 0; ; i++)
            {
                var answer = await ClusterTests.WithRetriesAsync(() => new AdmissionClient(channels[i % 2]).ReserveAsync(ClusterTests.Reserve(team, amount)).ResponseAsync);
                if (answer.Decision != Decision.Admitted) break;
                admitted++;
            }
            Assert.Equal(n, admitted);
            Assert.Equal(n * amount, (await new ManagementClient(channels[1]).GetBudgetAsync(new GetBudgetRequest { Scope = "team/" + key })).HeldNanos);

            // Learned estimates: 16 commits (the estimate grain writes every 16) with actuals 100 ... 1,600, through both silos.
            var feature = new Attribution { Tenant = key, Feature = key, Labels = { ["model"] = "m1" } };
            for (var i = 1; i <= 16; i++)
            {
                var admission = new AdmissionClient(channels[i % 2]);
                var reserve = await admission.ReserveAsync(ClusterTests.Reserve(feature, 5_000));
                await admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = i * 100 });
            }
            var stored = await EventuallyAsync(() => StoredEstimateAsync(azurite.ConnectionString, grainStorage, key), TimeSpan.FromSeconds(20),
                () => DescribeAsync(azurite.ConnectionString));
            output.WriteLine($"{grainStorage}: {stored}");
            Assert.DoesNotContain("$type", stored, StringComparison.Ordinal);
            // The samples arrive unordered (each commit feeds the estimate without waiting), so compare them as a set.
            var recent = JsonDocument.Parse(stored).RootElement.GetProperty("Recent").EnumerateArray().Select(v => v.GetInt64()).Order();
            Assert.Equal(Enumerable.Range(1, 16).Select(i => i * 100L), recent);
            Assert.Equal(0L, await CountAsync(database, $"SELECT count(*) FROM grain_state WHERE grain_type = '{GrainTypes.Estimate}'"));

            // Both silos stop; a new one on the same stores reads the estimate back from Azure: p95 of the 16 is the 16th.
            foreach (var silo in silos) await StopAsync(silo);
            using var fresh = await ServerProcess.StartAsync(Path.Combine(_root, "silo-fresh"), settings);
            var probe = await ClusterTests.WithRetriesAsync(() =>
                new AdmissionClient(GrpcChannel.ForAddress(fresh.Address)).ReserveAsync(ClusterTests.Reserve(feature, 0)).ResponseAsync);
            Assert.Equal((Decision.Admitted, EstimateSource.Learned, 1_600L), (probe.Decision, probe.EstimateSource, probe.HeldNanos));
        }
        finally
        {
            foreach (var silo in silos) silo.Dispose();
        }
    }

    /// <summary>The stored state of the estimate grain of <paramref name="feature"/> (model m1) as JSON: the blob's content, or
    /// the table entity's data; null while there is none.</summary>
    private static async Task<string?> StoredEstimateAsync(string connectionString, string grainStorage, string feature)
    {
        if (grainStorage == ClusterProfile.AzureBlobGrainStorage)
        {
            var container = new BlobServiceClient(connectionString).GetBlobContainerClient(OrleansHosting.AzureStateContainer);
            if (!await container.ExistsAsync()) return null;
            await foreach (var blob in container.GetBlobsAsync())
                if (blob.Name.Contains(feature, StringComparison.Ordinal))
                    return (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString();
            return null;
        }
        try
        {
            await foreach (var entity in new TableServiceClient(connectionString).GetTableClient(OrleansHosting.AzureStateTable).QueryAsync<TableEntity>())
                if (entity.PartitionKey.Contains(feature, StringComparison.Ordinal))
                    return string.Concat(entity.Where(p => p.Key.StartsWith("Data", StringComparison.Ordinal)).OrderBy(p => p.Key, StringComparer.Ordinal)
                        .Select(p => p.Value is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : p.Value?.ToString()));
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
            // No table yet.
        }
        return null;
    }

    /// <summary>Every table's row keys and every container's blob names, for a failure message.</summary>
    private static async Task<string> DescribeAsync(string connectionString)
    {
        var lines = new List<string>();
        var tables = new TableServiceClient(connectionString);
        await foreach (var table in tables.QueryAsync())
            await foreach (var entity in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
                lines.Add($"table {table.Name}: {entity.PartitionKey} / {entity.RowKey} ({string.Join(", ", entity.Keys)})");
        var blobs = new BlobServiceClient(connectionString);
        await foreach (var container in blobs.GetBlobContainersAsync())
            await foreach (var blob in blobs.GetBlobContainerClient(container.Name).GetBlobsAsync())
                lines.Add($"container {container.Name}: {blob.Name}");
        return string.Join("\n", lines);
    }

    private static async Task<bool> TableExistsAsync(string database, string table) =>
        await CountAsync(database, $"SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'") > 0;

    private static async Task<long> CountAsync(string database, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(database);
        await using var command = dataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string> EventuallyAsync(Func<Task<string?>> read, TimeSpan timeout, Func<Task<string>> describe)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await read() is { } found) return found;
            if (clock.Elapsed > timeout) Assert.Fail($"nothing stored within {timeout}; Azurite holds:\n{await describe()}");
            await Task.Delay(200);
        }
    }

    /// <summary>SIGTERM: the silo leaves the membership table and deactivates its grains, writing their state.</summary>
    private static async Task StopAsync(ServerProcess silo)
    {
        using (var kill = Process.Start("kill", ["-TERM", silo.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!silo.HasExited && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.True(silo.HasExited, "the silo did not stop within 60 s of SIGTERM");
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
