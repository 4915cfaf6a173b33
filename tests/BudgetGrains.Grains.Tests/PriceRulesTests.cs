using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Prices;

namespace BudgetGrains.Grains.Tests;

/// <summary>Which prices are accepted, and which one admission uses when a model has several.</summary>
public sealed class PriceRulesTests
{
    [Theory]
    [InlineData("gpt-4o-2024-08-06")]
    [InlineData("models/gemini-2.5-pro")]
    [InlineData("anthropic.claude-3-5-sonnet-20241022-v2:0")]
    [InlineData("org/model@v1+fp8")]
    public void RealModelNamesAreAccepted(string model) => Assert.Null(PriceRules.Model(model));

    [Theory]
    [InlineData("", "model must be 1 to 128 characters")]
    [InlineData("gpt 4o", "model 'gpt 4o' contains 'U+0020': use ASCII letters, digits and -._:/@+")]
    [InlineData("gpt-4o\n", "model 'gpt-4o\n' contains 'U+000A': use ASCII letters, digits and -._:/@+")]
    [InlineData("modèle", "model 'modèle' contains 'è': use ASCII letters, digits and -._:/@+")]
    public void OtherModelNamesAreRefusedSayingWhy(string model, string message) =>
        Assert.Equal(message, PriceRules.Model(model)?.Message);

    [Theory]
    [InlineData("2025-08-07", true)]
    [InlineData("2024-02-29", true)]
    [InlineData("2025-02-29", false)]
    [InlineData("2025-8-7", false)]
    [InlineData("2025-08-07T00:00:00Z", false)]
    [InlineData("", false)]
    public void AsOfIsAnIsoDate(string text, bool valid) => Assert.Equal(valid, PriceRules.IsDate(text));

    [Fact]
    public void AnApiPriceWinsOverConfigurationWhichWinsOverTheDefaultFile()
    {
        var catalog = new PriceCatalog(new Dictionary<string, ModelPrice> { ["configured"] = Flat(2), ["both"] = Flat(2) });
        catalog.PublishStored(new Dictionary<string, CatalogPrice>
        {
            ["configured"] = new("configured", Flat(1), "2025-01-01", PriceSource.Default),
            ["both"] = new("both", Flat(3), "2025-01-01", PriceSource.Api),
            ["default-only"] = new("default-only", Flat(4), "2025-01-01", PriceSource.Default),
        });

        Assert.Equal([("both", 30L), ("configured", 20L), ("default-only", 40L)], catalog.InModelOrder.Select(p => (p.Model, Price(catalog, p.Model))));
        Assert.Equal([PriceSource.Api, PriceSource.Config, PriceSource.Default], catalog.InModelOrder.Select(p => p.Source));
    }

    [Fact]
    public void AReaderKeepsTheSnapshotItStartedWith()
    {
        var catalog = new PriceCatalog(new Dictionary<string, ModelPrice>());
        catalog.PublishStored(new Dictionary<string, CatalogPrice> { ["m"] = new("m", Flat(1), "2025-01-01", PriceSource.Api) });
        var before = catalog.InModelOrder;

        catalog.PublishStored(new Dictionary<string, CatalogPrice>());

        Assert.Equal("m", Assert.Single(before).Model);
        Assert.Empty(catalog.InModelOrder);
        Assert.False(catalog.TryPrice(new TokenCounts("m", 1, 0, 0, 0), out _));
    }

    private static ModelPrice Flat(long nanos) => new(nanos, nanos, nanos, nanos);

    private static long Price(PriceCatalog catalog, string model) =>
        catalog.TryPrice(new TokenCounts(model, 10, 0, 0, 0), out var nanos) ? nanos : -1;
}
