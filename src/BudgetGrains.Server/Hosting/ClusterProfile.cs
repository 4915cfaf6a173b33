using Orleans.Hosting.Kubernetes;

namespace BudgetGrains.Server.Hosting;

/// <summary>Where a cluster's Orleans membership table lives (<see cref="SiloOptions.Membership"/>).</summary>
internal enum MembershipStore
{
    /// <summary>ADO.NET clustering in the journal's PostgreSQL database (docs/decisions/0027).</summary>
    Postgres,

    /// <summary>Azure Table clustering (docs/decisions/0031).</summary>
    Azure,
}

/// <summary>Where Orleans' grain storage keeps the state the admission path does not write (<see cref="SiloOptions.GrainStorage"/>).</summary>
internal enum GrainStateStore
{
    /// <summary>In the journal's store, like every other state (the default).</summary>
    Journal,

    /// <summary>One blob per grain in Azure Blob storage.</summary>
    AzureBlob,

    /// <summary>One entity per grain in Azure Table storage.</summary>
    AzureTable,
}

/// <summary>
/// The Orleans side of the deployment, checked once before anything starts: membership store, grain storage, the Azure
/// Storage account and Kubernetes hosting. A bad combination is an InvalidOperationException naming the setting, which the
/// executable prints as one line (docs/decisions/0016).
/// </summary>
internal sealed record ClusterProfile(MembershipStore Membership, GrainStateStore GrainStorage, string AzureStorageConnectionString, bool Kubernetes)
{
    public const string PostgresMembership = "postgres";
    public const string AzureMembership = "azure";
    public const string JournalGrainStorage = "journal";
    public const string AzureBlobGrainStorage = "azure-blob";
    public const string AzureTableGrainStorage = "azure-table";

    /// <summary>The pod's environment that Orleans' Kubernetes hosting reads (the downward API in deploy/kubernetes).</summary>
    public static readonly string[] KubernetesEnvironment =
    [
        KubernetesHostingOptions.PodNameEnvironmentVariable,
        KubernetesHostingOptions.PodNamespaceEnvironmentVariable,
        KubernetesHostingOptions.PodIPEnvironmentVariable,
    ];

    private const string S = SiloOptions.Section;

    public bool UsesAzure => Membership == MembershipStore.Azure || GrainStorage != GrainStateStore.Journal;

    public static ClusterProfile From(SiloOptions options)
    {
        var membership = Normalize(options.Membership, PostgresMembership) switch
        {
            PostgresMembership => MembershipStore.Postgres,
            AzureMembership => MembershipStore.Azure,
            _ => throw new InvalidOperationException(
                $"{S}:Membership '{options.Membership}' is not a membership store: use {PostgresMembership} (the default) or {AzureMembership}"),
        };
        var grainStorage = Normalize(options.GrainStorage, JournalGrainStorage) switch
        {
            JournalGrainStorage => GrainStateStore.Journal,
            AzureBlobGrainStorage => GrainStateStore.AzureBlob,
            AzureTableGrainStorage => GrainStateStore.AzureTable,
            _ => throw new InvalidOperationException(
                $"{S}:GrainStorage '{options.GrainStorage}' is not a grain storage: use {JournalGrainStorage} (the default), {AzureBlobGrainStorage} or {AzureTableGrainStorage}"),
        };
        if (membership == MembershipStore.Azure && !options.Cluster)
            throw new InvalidOperationException($"{S}:Membership {AzureMembership} needs {S}:Cluster true: a single silo keeps no membership table");
        var profile = new ClusterProfile(membership, grainStorage, options.AzureStorageConnectionString?.Trim() ?? "", options.Kubernetes);
        if (profile.UsesAzure) CheckAzureConnectionString(profile.AzureStorageConnectionString,
            membership == MembershipStore.Azure ? $"{S}:Membership {AzureMembership}" : $"{S}:GrainStorage {options.GrainStorage.Trim()}");
        if (profile.Kubernetes) CheckKubernetes(options);
        return profile;
    }

    private static string Normalize(string? value, string fallback) =>
        string.IsNullOrWhiteSpace(value) ? fallback : value.Trim().ToLowerInvariant();

    private static void CheckAzureConnectionString(string connectionString, string needer)
    {
        if (connectionString.Length == 0)
            throw new InvalidOperationException($"{needer} needs {S}:AzureStorageConnectionString: give one with --azure-storage " +
                "'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…' (or BudgetGrains__AzureStorageConnectionString)");
        try
        {
            // Both clients parse the string as the providers will; neither connects here.
            _ = new Azure.Data.Tables.TableServiceClient(connectionString);
            _ = new Azure.Storage.Blobs.BlobServiceClient(connectionString);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{S}:AzureStorageConnectionString is not an Azure Storage connection string: {e.Message}", e);
        }
    }

    private static void CheckKubernetes(SiloOptions options)
    {
        if (!options.Cluster)
            throw new InvalidOperationException($"{S}:Kubernetes needs {S}:Cluster true: Kubernetes hosting tracks the pods of a cluster");
        if (options.SiloPort == 0)
            throw new InvalidOperationException($"{S}:Kubernetes needs a fixed {S}:SiloPort, the pod's silo container port (e.g. 11111)");
        foreach (var variable in KubernetesEnvironment)
        {
            // The namespace may also come from the service account's token mount, as Orleans reads it.
            if (variable == KubernetesHostingOptions.PodNamespaceEnvironmentVariable && File.Exists(ServiceAccountNamespaceFile)) continue;
            if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(variable)))
                throw new InvalidOperationException($"{S}:Kubernetes is true but the environment variable {variable} is not set: " +
                    "give it from the pod's downward API, as deploy/kubernetes/budgetgrains.yaml does");
        }
    }

    private const string ServiceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
}
