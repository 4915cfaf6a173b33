using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Prices;

/// <summary>
/// The single writer of the price catalog (key <see cref="Key"/>): each change is made durable, then published to the
/// <see cref="Admission.PriceCatalog"/> that admission reads. Its turns order concurrent changes, and the count limit
/// is checked inside the turn that adds.
/// </summary>
public interface IPriceCatalogGrain : IGrainWithStringKey
{
    public const string Key = "catalog";

    /// <summary>Reads the stored prices and applies the default file's new entries; called once when the silo starts.</summary>
    Task<DefaultsLoaded> LoadAsync(IReadOnlyList<CatalogPrice> defaults);

    /// <summary>Stores valid, distinct prices as source api, all in one durable write; an empty as_of becomes today.</summary>
    Task<Result<PricesStored>> SetAsync(IReadOnlyList<CatalogPrice> prices);

    /// <summary>Removes a model's stored price.</summary>
    Task<Result<PriceRemoval>> RemoveAsync(string model);
}

/// <summary>What <see cref="IPriceCatalogGrain.LoadAsync"/> found and did.</summary>
/// <param name="Stored">Stored prices after loading.</param>
/// <param name="Applied">Default prices stored now (new models, or newer as_of than last applied).</param>
/// <param name="KeptApi">Default prices not stored because an administrator set the model's price.</param>
/// <param name="OverLimit">Default prices not stored because the catalog is full (retried at the next start).</param>
[GenerateSerializer, Immutable]
public sealed record DefaultsLoaded(int Stored, int Applied, int KeptApi, int OverLimit);

/// <summary>What <see cref="IPriceCatalogGrain.SetAsync"/> stored, and how many of those models had no stored price before.</summary>
[GenerateSerializer, Immutable]
public sealed record PricesStored(IReadOnlyList<CatalogPrice> Prices, int Added);

/// <summary>What <see cref="IPriceCatalogGrain.RemoveAsync"/> did: false when the model had no stored price.</summary>
[GenerateSerializer, Immutable]
public sealed record PriceRemoval(bool Deleted);
