using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Meters;

/// <summary>
/// The single writer of the meter catalog (key <see cref="Key"/>): each change is made durable, then published to the
/// <see cref="MeterCatalog"/> that admission reads. Its turns order concurrent changes and make the count limit exact.
/// </summary>
public interface IMeterCatalogGrain : IGrainWithStringKey
{
    public const string Key = "catalog";

    /// <summary>Reads the stored meters into the catalog; called once when the silo starts. Returns how many.</summary>
    Task<int> LoadAsync();

    /// <summary>Stores valid, distinct meters, all in one durable write; an empty as_of becomes today.</summary>
    Task<Result<MetersStored>> SetAsync(IReadOnlyList<CatalogMeter> meters);

    /// <summary>Removes a meter; false when the catalog had none of that name.</summary>
    Task<Result<MeterRemoval>> RemoveAsync(string name);
}

/// <summary>What <see cref="IMeterCatalogGrain.SetAsync"/> stored, and how many of those meters are new.</summary>
[GenerateSerializer, Immutable]
public sealed record MetersStored(IReadOnlyList<CatalogMeter> Meters, int Added);

/// <summary>What <see cref="IMeterCatalogGrain.RemoveAsync"/> did.</summary>
[GenerateSerializer, Immutable]
public sealed record MeterRemoval(bool Deleted);
