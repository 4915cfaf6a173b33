using System.Net;
using BudgetGrains.Grains.Admission;

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

    /// <summary>Directory of the embedded store (created if missing).</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>PFX/PKCS#12 certificate file: serve gRPC over TLS instead of h2c.</summary>
    public string? TlsCertificatePath { get; set; }

    public string? TlsCertificatePassword { get; set; }

    /// <summary>Largest gRPC message accepted or sent.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long an idle scope stays in memory.</summary>
    public TimeSpan ScopeIdleTimeout { get; set; } = Grains.BudgetGrainsSetup.ScopeIdleTimeout;

    /// <summary>How often the silo logs its runtime statistics (activations, turns/s, p99 turn, writes/s); 0 = never.</summary>
    public TimeSpan StatisticsInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Prices by model name, in nanos per token.</summary>
    public Dictionary<string, PriceOptions> Prices { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Price of models not in <see cref="Prices"/>; none = such calls are denied UNKNOWN_PRICE.</summary>
    public PriceOptions? FallbackPrice { get; set; }

    /// <summary>Alert delivery: the log, webhooks, retries.</summary>
    public AlertOptions Alerts { get; set; } = new();

    public string DatabasePath => Path.Combine(Path.GetFullPath(DataDir), "budgetgrains.db");

    public IPEndPoint ListenEndPoint =>
        IPEndPoint.TryParse(Listen, out var endpoint)
            ? endpoint
            : throw new InvalidOperationException($"BudgetGrains:Listen '{Listen}' is not an address:port such as 127.0.0.1:5080");

    public PriceCatalog PriceCatalog() => new(
        Prices.ToDictionary(p => p.Key, p => p.Value.ToModelPrice(), StringComparer.Ordinal), FallbackPrice?.ToModelPrice());
}

/// <summary>One model's prices in nanos per token ($2.50 per 1M tokens = 2500).</summary>
public sealed class PriceOptions
{
    public long InputNanos { get; set; }
    public long CachedInputNanos { get; set; }
    public long OutputNanos { get; set; }
    public long ReasoningNanos { get; set; }

    public ModelPrice ToModelPrice() => new(InputNanos, CachedInputNanos, OutputNanos, ReasoningNanos);
}
