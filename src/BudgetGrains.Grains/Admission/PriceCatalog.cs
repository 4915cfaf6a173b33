using BudgetGrains.Grains.Prices;

namespace BudgetGrains.Grains.Admission;

/// <summary>Prices of one model in nanos per token (e.g. $2.50 / 1M tokens = 2,500).</summary>
[GenerateSerializer, Immutable]
public sealed record ModelPrice(long InputNanos, long CachedInputNanos, long OutputNanos, long ReasoningNanos);

/// <summary>
/// Model → price, as admission reads it: stored prices (the API's and the shipped default file's) layered with the
/// configuration's (docs/decisions/0010). A model with no price is never charged $0: reserves are denied
/// UNKNOWN_PRICE and commits refused, unless a fallback price is configured.
/// Reads are lock-free: they see one immutable snapshot, which the price catalog grain replaces after each durable
/// change (<see cref="PriceCatalogGrain"/>).
/// </summary>
public sealed class PriceCatalog
{
    public static readonly PriceCatalog Empty = new(new Dictionary<string, ModelPrice>());

    private readonly IReadOnlyDictionary<string, CatalogPrice> _configured;
    private readonly ModelPrice? _fallback;
    private readonly Lock _publishing = new();
    private volatile Snapshot _current;

    /// <param name="configured">Prices from configuration (source "config").</param>
    /// <param name="fallback">The price of models that have none; null = they are UNKNOWN_PRICE.</param>
    public PriceCatalog(IReadOnlyDictionary<string, ModelPrice> configured, ModelPrice? fallback = null)
    {
        _configured = configured.ToDictionary(p => p.Key, p => new CatalogPrice(p.Key, p.Value, "", PriceSource.Config), StringComparer.Ordinal);
        _fallback = fallback;
        _current = Snapshot.Of(new Dictionary<string, CatalogPrice>(StringComparer.Ordinal), _configured);
    }

    /// <summary>The cost of <paramref name="usage"/>, or false when the model has no price (or the product overflows).</summary>
    public bool TryPrice(TokenCounts usage, out long nanos)
    {
        nanos = 0;
        var price = _current.Effective.TryGetValue(usage.Model, out var listed) ? listed.Price : _fallback;
        if (price is null) return false;
        try
        {
            nanos = checked(usage.InputTokens * price.InputNanos
                + usage.CachedInputTokens * price.CachedInputNanos
                + usage.OutputTokens * price.OutputNanos
                + usage.ReasoningTokens * price.ReasoningNanos);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    /// <summary>The price that applies to each model, one per model, in ordinal model order.</summary>
    public IReadOnlyList<CatalogPrice> InModelOrder => _current.Sorted.Value;

    /// <summary>The stored prices (sources api and default), whether or not a configuration price overrides them.</summary>
    internal IReadOnlyDictionary<string, CatalogPrice> Stored => _current.Stored;

    internal bool IsConfigured(string model) => _configured.ContainsKey(model);

    /// <summary>Publishes the stored prices after they were made durable. Only the price catalog grain calls this,
    /// one turn at a time; the lock only keeps a misuse from losing an update.</summary>
    internal void PublishStored(IReadOnlyDictionary<string, CatalogPrice> stored)
    {
        lock (_publishing) _current = Snapshot.Of(stored, _configured);
    }

    /// <summary>
    /// One immutable view: the dictionaries are built here and never written again, so any number of readers may use
    /// them while a writer builds the next snapshot. The sorted list is built on the first listing that needs it.
    /// </summary>
    private sealed class Snapshot
    {
        private Snapshot(IReadOnlyDictionary<string, CatalogPrice> stored, Dictionary<string, CatalogPrice> effective)
        {
            Stored = stored;
            Effective = effective;
            Sorted = new(() => [.. effective.Values.OrderBy(p => p.Model, StringComparer.Ordinal)]);
        }

        public IReadOnlyDictionary<string, CatalogPrice> Stored { get; }

        public Dictionary<string, CatalogPrice> Effective { get; }

        public Lazy<CatalogPrice[]> Sorted { get; }

        /// <summary>Precedence: an API price, else a configuration price, else the default file's.</summary>
        public static Snapshot Of(IReadOnlyDictionary<string, CatalogPrice> stored, IReadOnlyDictionary<string, CatalogPrice> configured)
        {
            var effective = new Dictionary<string, CatalogPrice>(configured, StringComparer.Ordinal);
            foreach (var (model, price) in stored)
            {
                if (price.Source == PriceSource.Api || !configured.ContainsKey(model)) effective[model] = price;
            }
            return new Snapshot(stored, effective);
        }
    }
}
