using BudgetGrains.Grains.Prices;
using BudgetGrains.Server.Services;
using Google.Protobuf;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Hosting;

/// <summary>
/// The default price file shipped next to the executable (default-prices.json): budget.v1.ImportPricesRequest in
/// protobuf JSON, the format `budgetctl prices import` reads. Loaded into the store at start (docs/decisions/0010).
/// </summary>
internal static class PriceFile
{
    public const string DefaultName = "default-prices.json";

    /// <summary>The file's prices, checked like an import; a missing or bad file stops the silo with a clear message.</summary>
    public static IReadOnlyList<CatalogPrice> ReadDefaults(string path)
    {
        if (path.Length == 0) return [];
        V1.ImportPricesRequest file;
        try
        {
            file = JsonParser.Default.Parse<V1.ImportPricesRequest>(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidProtocolBufferException or InvalidJsonException)
        {
            throw new InvalidOperationException($"BudgetGrains:DefaultPricesFile {path} cannot be read as a price file: {e.Message}", e);
        }
        var prices = file.Prices.Select(p => PriceMapping.ToCatalogPrice(p) with { Source = PriceSource.Default }).ToList();
        var undated = prices.FindIndex(p => p.AsOf.Length == 0);
        var problem = PriceAdministration.ValidateImport(prices)?.Message
            ?? (undated < 0 ? null : $"prices[{undated}] ({prices[undated].Model}) has no as_of: a default price must say when it was taken");
        return problem is null ? prices : throw new InvalidOperationException($"BudgetGrains:DefaultPricesFile {path}: {problem}");
    }
}
