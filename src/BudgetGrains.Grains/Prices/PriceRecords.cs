using BudgetGrains.Grains.Journal;

namespace BudgetGrains.Grains.Prices;

// The durable effects of price management, one row per model in the store (not one blob for the whole catalog), so a
// change costs the same with ten prices or ten thousand.

/// <summary>Create or replace the stored price of a model.</summary>
public sealed record PriceStored(CatalogPrice Price) : IJournalRecord;

/// <summary>Remove the stored price of a model.</summary>
public sealed record PriceDeleted(string Model) : IJournalRecord;

/// <summary>The default file's price of <paramref name="Model"/> as of <paramref name="AsOf"/> has been considered
/// once (stored, or kept out by an API price): later starts do not apply it again.</summary>
public sealed record DefaultPriceApplied(string Model, string AsOf) : IJournalRecord;

/// <summary>What the store holds about prices.</summary>
/// <param name="DefaultsApplied">Model → as_of of the newest default-file price applied (<see cref="DefaultPriceApplied"/>).</param>
public sealed record StoredPrices(IReadOnlyList<CatalogPrice> Prices, IReadOnlyDictionary<string, string> DefaultsApplied);

/// <summary>The price queries a store answers (read once, when the silo starts).</summary>
public interface IPriceStore
{
    Task<StoredPrices> ReadAsync(CancellationToken cancellationToken);
}
