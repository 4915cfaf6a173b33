using System.Net;
using System.Net.Sockets;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Journal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Hosting;

namespace BudgetGrains.Server.Hosting;

/// <summary>The Orleans side of a silo: localhost clustering (the embedded default is one silo) or, with Cluster, ADO.NET
/// clustering on the journal's PostgreSQL database (docs/decisions/0027-cluster-membership.md) or Azure Table clustering
/// (0031), optionally under Kubernetes hosting (0032); the grain storage of settings state; the grains' collection ages and
/// the limits Orleans enforces for the project (I5).</summary>
internal static class OrleansHosting
{
    /// <summary>Requests queued on one activation; one more fails with Orleans' LimitExceededException (RESOURCE_EXHAUSTED).</summary>
    public const int MaxEnqueuedRequestsPerActivation = 10_000;

    /// <summary>The scope grain class, as Orleans names grain classes in <see cref="GrainCollectionOptions.ClassSpecificCollectionAge"/>.</summary>
    private const string ScopeGrainClass = "BudgetGrains.Grains.Scopes.ScopeGrain";

    /// <summary>Orleans' service id: the same for every deployment of the product (grain identities do not depend on it).</summary>
    public const string ServiceId = "budgetgrains";

    /// <summary>Failure detection in a cluster (Orleans' defaults take 30 s and more): a silo that misses
    /// <see cref="MissedProbes"/> probes of <see cref="ProbeTimeout"/> each is voted dead; the table is re-read every
    /// <see cref="TableRefresh"/>; votes count for <see cref="DeathVoteExpiry"/>. Probe timeouts below 2 s misfired on two
    /// shared cores under load. docs/configuration.md, "Cluster".</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public const int MissedProbes = 2;

    public static readonly TimeSpan TableRefresh = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan DeathVoteExpiry = TimeSpan.FromSeconds(20);

    public static readonly TimeSpan IAmAlivePublish = TimeSpan.FromSeconds(5);

    public static void UseBudgetGrainsSilo(this IHostApplicationBuilder builder, SiloOptions options, ClusterProfile profile)
    {
        var siloPort = options.SiloPort == 0 ? FreeLoopbackPort() : options.SiloPort;
        builder.UseOrleans(silo =>
        {
            if (options.Cluster)
            {
                if (profile.Kubernetes)
                {
                    // The pod's IP is advertised and every address listened on (Orleans' Kubernetes hosting, from POD_IP):
                    // SiloAddress does not apply. Before our ClusterOptions, so that ours (the fixed ServiceId, ClusterId)
                    // win over any ORLEANS_* variables in the pod. docs/decisions/0032-kubernetes.md.
                    silo.UseKubernetesHosting();
                    silo.Configure<EndpointOptions>(endpoints => (endpoints.SiloPort, endpoints.GatewayPort) = (siloPort, options.GatewayPort));
                }
                else
                {
                    var address = IPAddress.TryParse(options.SiloAddress, out var parsed)
                        ? parsed
                        : throw new InvalidOperationException($"BudgetGrains:SiloAddress '{options.SiloAddress}' is not an IP address such as 127.0.0.1");
                    silo.ConfigureEndpoints(address, siloPort, options.GatewayPort, listenOnAnyHostAddress: false);
                }
                silo.Configure<ClusterOptions>(cluster => (cluster.ServiceId, cluster.ClusterId) = (ServiceId, options.ClusterId));
                if (profile.Membership == MembershipStore.Azure)
                {
                    silo.UseAzureStorageClustering(azure => azure.TableServiceClient = new Azure.Data.Tables.TableServiceClient(profile.AzureStorageConnectionString));
                }
                else
                {
                    silo.UseAdoNetClustering(ado =>
                    {
                        ado.Invariant = Storage.Postgres.PostgresMembership.Invariant;
                        ado.ConnectionString = options.PostgresConnectionString;
                    });
                }
                silo.Configure<ClusterMembershipOptions>(membership =>
                {
                    membership.ProbeTimeout = ProbeTimeout;
                    membership.NumMissedProbesLimit = MissedProbes;
                    membership.TableRefreshTimeout = TableRefresh;
                    membership.DeathVoteExpirationTimeout = DeathVoteExpiry;
                    membership.IAmAliveTablePublishTimeout = IAmAlivePublish;
                });
                silo.Services.AddHostedService<ClusterDeathWatch>();
            }
            else
            {
                // No gateway: nothing outside this process calls the grains (clients use gRPC and REST).
                silo.UseLocalhostClustering(siloPort: siloPort, gatewayPort: 0, serviceId: ServiceId, clusterId: "budgetgrains-local");
                // Orleans classifies silo generations older than SiloGenerationRetirementAge (1 h), measured on the silo's
                // clock, as dead; a one-silo cluster's clock that jumps forward by more (a virtual machine resumed, a test
                // clock moved by months) made the silo declare itself dead and kill the process ("I have been told I am
                // dead", seen in CI). One silo has no stale peers to retire: retirement is off. It has no peers to probe
                // or to be declared dead by either, so the liveness protocol is off, and so is the clean-up of defunct
                // entries (measured on the same clock, it could retire the silo's own entry after a jump of days).
                silo.Configure<ClusterMembershipOptions>(membership =>
                {
                    membership.SiloGenerationRetirementAge = null;
                    membership.LivenessEnabled = false;
                    membership.DefunctSiloCleanupPeriod = null;
                });
            }
            silo.UseSettingsStorage(profile);
            silo.Configure<GrainCollectionOptions>(collection =>
                collection.ClassSpecificCollectionAge[ScopeGrainClass] = options.ScopeIdleTimeout);
            silo.Configure<SiloMessagingOptions>(messaging =>
            {
                messaging.MaxEnqueuedRequestsSoftLimit = 0;
                messaging.MaxEnqueuedRequestsHardLimit = MaxEnqueuedRequestsPerActivation;
            });
        });
    }

    /// <summary>The Orleans grain storage named <see cref="SettingsStorage.Name"/>: the journal's (registered with the grain
    /// services) unless the profile puts it in Azure Blob or Table storage, with the same stable JSON either way.</summary>
    private static void UseSettingsStorage(this ISiloBuilder silo, ClusterProfile profile)
    {
        if (profile.GrainStorage == GrainStateStore.Journal) return;
        silo.Services.RemoveAllKeyed<Orleans.Storage.IGrainStorage>(SettingsStorage.Name);
        if (profile.GrainStorage == GrainStateStore.AzureBlob)
        {
            silo.AddAzureBlobGrainStorage(SettingsStorage.Name, blob =>
            {
                blob.BlobServiceClient = new Azure.Storage.Blobs.BlobServiceClient(profile.AzureStorageConnectionString);
                blob.ContainerName = AzureStateContainer;
                blob.GrainStorageSerializer = SettingsStorage.Serializer;
            });
        }
        else
        {
            silo.AddAzureTableGrainStorage(SettingsStorage.Name, table =>
            {
                table.TableServiceClient = new Azure.Data.Tables.TableServiceClient(profile.AzureStorageConnectionString);
                table.TableName = AzureStateTable;
                table.GrainStorageSerializer = SettingsStorage.Serializer;
            });
        }
    }

    /// <summary>Where the azure grain storages keep grain state (one blob, or one entity, per grain).</summary>
    public const string AzureStateContainer = "budgetgrains-state";

    public const string AzureStateTable = "BudgetGrainsState";

    /// <summary>A port nothing listens on now. Orleans needs a concrete silo port; a single silo is reached by nobody else,
    /// so any free one does, and several silos (tests) on one machine do not collide.</summary>
    private static int FreeLoopbackPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
