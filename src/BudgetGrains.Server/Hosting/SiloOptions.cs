using System.Net;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Settings;

namespace BudgetGrains.Server.Hosting;

/// <summary>
/// The silo's settings, from the "BudgetGrains" section of appsettings.json, environment variables
/// (BudgetGrains__Listen=...) and the command line (--listen, --data-dir, ...). See docs/configuration.md.
/// </summary>
public sealed class SiloOptions
{
    public const string Section = "BudgetGrains";

    /// <summary>Address and port of the gRPC endpoint; port 0 picks a free one.</summary>
    public string Listen { get; set; } = "127.0.0.1:5080";

    /// <summary>
    /// Address and port of the HTTP/1.1 endpoint (REST under /api/v1/); "none" turns it off. By default Listen's address
    /// with the next port (127.0.0.1:5081), or port 0 when Listen's port is 0.
    /// </summary>
    public string? Http { get; set; }

    /// <summary>Directory of the embedded store (created if missing).</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>Where the journal lives: "sqlite" (the embedded default, in DataDir) or "postgres" (PostgresConnectionString).</summary>
    public string Storage { get; set; } = "sqlite";

    /// <summary>Npgsql connection string of the journal's database when Storage is postgres.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>Certificate file: serve gRPC and REST over TLS. PEM with <see cref="TlsKeyPath"/>, else PFX/PKCS#12.</summary>
    public string? TlsCertificatePath { get; set; }

    public string? TlsCertificatePassword { get; set; }

    /// <summary>PEM private key of a PEM <see cref="TlsCertificatePath"/>.</summary>
    public string? TlsKeyPath { get; set; }

    /// <summary>PEM CA certificate: clients must present a certificate it issued (mTLS).</summary>
    public string? TlsClientCaPath { get; set; }

    /// <summary>API keys: mode, bootstrap admin key file, failure limit (docs/decisions/0018).</summary>
    public global::BudgetGrains.Server.Auth.AuthOptions Auth { get; set; } = new();

    /// <summary>Largest gRPC message accepted or sent.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long an idle scope stays in memory.</summary>
    public TimeSpan ScopeIdleTimeout { get; set; } = Grains.BudgetGrainsSetup.ScopeIdleTimeout;

    /// <summary>Orleans' silo-to-silo port (on <see cref="SiloAddress"/> in a cluster, 127.0.0.1 alone); 0 picks a free one.</summary>
    public int SiloPort { get; set; }

    /// <summary>Join an Orleans cluster whose membership is in the PostgreSQL database (needs Storage postgres); false:
    /// one silo on localhost clustering (the embedded default). docs/decisions/0027-cluster-membership.md.</summary>
    public bool Cluster { get; set; }

    /// <summary>The cluster's name in the membership table: silos with the same ClusterId on one database form one cluster.</summary>
    public string ClusterId { get; set; } = "budgetgrains";

    /// <summary>The address other silos reach this one on (a cluster); loopback by default, for one machine.</summary>
    public string SiloAddress { get; set; } = "127.0.0.1";

    /// <summary>Orleans' gateway port for Orleans clients (a cluster); 0 = no gateway (clients use gRPC and REST).</summary>
    public int GatewayPort { get; set; }

    /// <summary>Where a cluster's membership table is: "postgres" (the journal's database, the default) or "azure" (Azure
    /// Table storage of <see cref="AzureStorageConnectionString"/>). docs/decisions/0031-azure-profile.md.</summary>
    public string Membership { get; set; } = Hosting.ClusterProfile.PostgresMembership;

    /// <summary>Where Orleans' grain storage keeps the grain state the admission path does not write (learned estimates):
    /// "journal" (the default), "azure-blob" or "azure-table". docs/decisions/0031-azure-profile.md.</summary>
    public string GrainStorage { get; set; } = Hosting.ClusterProfile.JournalGrainStorage;

    /// <summary>Azure Storage connection string for Membership azure and the azure grain storages.</summary>
    public string? AzureStorageConnectionString { get; set; }

    /// <summary>Running as a Kubernetes pod: Orleans' Kubernetes hosting names the silo after the pod, advertises the pod's
    /// IP and marks silos whose pods are gone as dead (needs Cluster). docs/decisions/0032-kubernetes.md.</summary>
    public bool Kubernetes { get; set; }

    /// <summary>How often the silo logs its statistics (activations, journal writes/s and batch size); 0 = never.</summary>
    public TimeSpan StatisticsInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often WatchBudgets streams read the status of the scopes they watch.</summary>
    public TimeSpan BudgetWatchInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest time between two updates of a WatchBudgets stream: an update without changes says the statuses
    /// are still current, so that a client can tell a quiet stream from a stuck one.</summary>
    public TimeSpan BudgetWatchHeartbeat { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>WatchBudgets streams served at once; more are refused with RESOURCE_EXHAUSTED.</summary>
    public int MaxBudgetWatchStreams { get; set; } = Grains.Limits.MaxWatchStreams;

    /// <summary>Prices by model name, in nanos per token.</summary>
    public Dictionary<string, PriceOptions> Prices { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Price of models not in <see cref="Prices"/>; none = such calls are denied UNKNOWN_PRICE.</summary>
    public PriceOptions? FallbackPrice { get; set; }

    /// <summary>Price file loaded into the store at start without replacing prices set through the API
    /// (docs/decisions/0010); a relative path is taken from the working directory; "" = none.</summary>
    public string DefaultPricesFile { get; set; } = Path.Combine(AppContext.BaseDirectory, Hosting.PriceFile.DefaultName);

    /// <summary>What a reserve or check whose chain has no budget on any scope gets: "open" (admitted, the default) or
    /// "closed" (denied NO_BUDGET). A tenant may override it (SetTenantSettings). docs/decisions/0023.</summary>
    public string UnknownScopes { get; set; } = "open";

    /// <summary>Default budgets by scope kind (feature, agent, task, tenant, team, cost_center, budget), applied to scopes of
    /// that kind that nobody configured: BudgetGrains:DefaultBudgets:feature:LimitNanos=50000000000.</summary>
    public Dictionary<string, DefaultBudgetOptions> DefaultBudgets { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Drift (in percent of what the ledger counted) past which an imported bill raises a DRIFT alert for a
    /// provider, model and day; 1 to 1000. docs/decisions/0036.</summary>
    public int ReconciliationDriftPercent { get; set; } = 5;

    /// <summary>Alert delivery: the log, webhooks, retries.</summary>
    public AlertOptions Alerts { get; set; } = new();

    /// <summary>Metrics (/metrics), traces, OTLP export and the dashboards.</summary>
    public Observability.TelemetryOptions Telemetry { get; set; } = new();

    public string DatabasePath => Path.Combine(Path.GetFullPath(DataDir), "budgetgrains.db");

    public IPEndPoint ListenEndPoint =>
        IPEndPoint.TryParse(Listen, out var endpoint)
            ? endpoint
            : throw new InvalidOperationException($"BudgetGrains:Listen '{Listen}' is not an address:port such as 127.0.0.1:5080");

    /// <summary>Where the HTTP endpoint listens; null when it is turned off.</summary>
    public IPEndPoint? HttpEndPoint
    {
        get
        {
            if (Http is null)
            {
                var grpc = ListenEndPoint;
                if (grpc.Port == IPEndPoint.MaxPort) throw new InvalidOperationException("BudgetGrains:Http needs a port when Listen uses the last one");
                return new IPEndPoint(grpc.Address, grpc.Port == 0 ? 0 : grpc.Port + 1);
            }
            if (Http.Length == 0 || Http.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
            return IPEndPoint.TryParse(Http, out var endpoint)
                ? endpoint
                : throw new InvalidOperationException($"BudgetGrains:Http '{Http}' is not an address:port such as 127.0.0.1:5081, or none");
        }
    }

    /// <summary>UnknownScopes and DefaultBudgets checked; a bad one stops the silo with a message naming it.</summary>
    public ScopeDefaults ScopeDefaults()
    {
        var mode = UnknownScopes.Trim().ToLowerInvariant() switch
        {
            "open" => UnknownScopesMode.Open,
            "closed" => UnknownScopesMode.Closed,
            _ => throw new InvalidOperationException($"{Section}:UnknownScopes is '{UnknownScopes}'; it must be open or closed"),
        };
        var budgets = new Dictionary<string, BudgetSettings>(StringComparer.Ordinal);
        foreach (var (kind, d) in DefaultBudgets)
        {
            BudgetPeriod period = d.Period.Trim().ToLowerInvariant() switch
            {
                "none" or "" => BudgetPeriod.None,
                "hour" => BudgetPeriod.Hour,
                "day" => BudgetPeriod.Day,
                "week" => BudgetPeriod.Week,
                "month" => BudgetPeriod.Month,
                _ => throw new InvalidOperationException($"{Section}:DefaultBudgets:{kind}:Period is '{d.Period}'; it must be none, hour, day, week or month"),
            };
            budgets[kind.ToLowerInvariant()] = new BudgetSettings(kind, d.LimitNanos, period, d.ThresholdPercents, "", false, d.Currency,
                d.RequestsPerMinute, d.TokensPerMinute);
        }
        var result = Grains.Settings.ScopeDefaults.Create(mode, budgets, Section + ":DefaultBudgets");
        return result.Value ?? throw new InvalidOperationException(result.Failure!.Message);
    }

    /// <summary>The catalog with the configured prices; a bad one stops the silo with a message naming it.</summary>
    public PriceCatalog PriceCatalog()
    {
        if (Prices.Count > Limits.MaxPricedModels)
            throw new InvalidOperationException($"BudgetGrains:Prices lists {Prices.Count} models; the limit is {Limits.MaxPricedModels}");
        var fallback = FallbackPrice?.ToModelPrice();
        var problem = Prices.Select(p => PriceRules.Validate(new CatalogPrice(p.Key, p.Value.ToModelPrice(), "", PriceSource.Config), "BudgetGrains:Prices"))
            .Append(fallback is null ? null : PriceRules.Validate(new CatalogPrice("fallback", fallback, "", PriceSource.Config), "BudgetGrains:FallbackPrice"))
            .FirstOrDefault(failure => failure is not null);
        return problem is null
            ? new(Prices.ToDictionary(p => p.Key, p => p.Value.ToModelPrice(), StringComparer.Ordinal), fallback)
            : throw new InvalidOperationException(problem.Message);
    }
}

/// <summary>The default budget of one scope kind (BudgetGrains:DefaultBudgets:&lt;kind&gt;:...).</summary>
public sealed class DefaultBudgetOptions
{
    /// <summary>Hard limit in nanos; 0 = no hard limit.</summary>
    public long LimitNanos { get; set; }

    /// <summary>none, hour, day, week or month.</summary>
    public string Period { get; set; } = "none";

    /// <summary>Soft thresholds in percent; empty = 50, 80, 100.</summary>
    public List<int> ThresholdPercents { get; set; } = [];

    public string Currency { get; set; } = "USD";

    public long RequestsPerMinute { get; set; }

    public long TokensPerMinute { get; set; }
}

/// <summary>One model's prices in nanos per token ($2.50 per 1M tokens = 2500).</summary>
public sealed class PriceOptions
{
    public long InputNanos { get; set; }
    /// <summary>Left out: the input price (PriceRules.Complete).</summary>
    public long? CachedInputNanos { get; set; }
    public long OutputNanos { get; set; }
    /// <summary>Left out: the output price.</summary>
    public long? ReasoningNanos { get; set; }

    public ModelPrice ToModelPrice() => PriceRules.Complete(InputNanos, CachedInputNanos is 0 ? null : CachedInputNanos, OutputNanos,
        ReasoningNanos is 0 ? null : ReasoningNanos);
}
