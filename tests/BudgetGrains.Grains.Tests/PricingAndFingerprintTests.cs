using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Reservations;

namespace BudgetGrains.Grains.Tests;

public sealed class PricingAndFingerprintTests
{
    private static readonly PriceCatalog Catalog = new(new Dictionary<string, ModelPrice> { ["m"] = new(2_500, 1_250, 10_000, 10_000) });

    [Fact]
    public void UsageIsPricedPerTokenKind()
    {
        Assert.True(Catalog.TryPrice(new TokenCounts("m", 1_000, 100, 50, 10), out var nanos));
        Assert.Equal(1_000 * 2_500 + 100 * 1_250 + 50 * 10_000 + 10 * 10_000, nanos);
    }

    [Fact]
    public void UnknownModelHasNoPriceUnlessAFallbackIsConfigured()
    {
        var withFallback = new PriceCatalog(new Dictionary<string, ModelPrice>(), new ModelPrice(1, 1, 1, 1));

        Assert.False(Catalog.TryPrice(new TokenCounts("other", 10, 0, 0, 0), out _));
        Assert.True(withFallback.TryPrice(new TokenCounts("other", 10, 0, 0, 0), out var nanos));
        Assert.Equal(10, nanos);
    }

    [Fact]
    public void PriceThatWouldOverflowIsNoPrice() =>
        Assert.False(new PriceCatalog(new Dictionary<string, ModelPrice> { ["m"] = new(long.MaxValue, 0, 0, 0) })
            .TryPrice(new TokenCounts("m", 2, 0, 0, 0), out _));

    [Fact]
    public void FingerprintIgnoresLabelOrderButNotParameters()
    {
        var a = Reserve(new Dictionary<string, string> { ["model"] = "x", ["env"] = "prod" }, 100);
        var b = Reserve(new Dictionary<string, string> { ["env"] = "prod", ["model"] = "x" }, 100);
        var c = Reserve(new Dictionary<string, string> { ["env"] = "prod", ["model"] = "x" }, 101);
        var d = Reserve(new Dictionary<string, string> { ["env"] = "prod", ["model"] = "y" }, 100);

        Assert.Equal(Fingerprints.Of(a), Fingerprints.Of(b));
        Assert.NotEqual(Fingerprints.Of(a), Fingerprints.Of(c));
        Assert.NotEqual(Fingerprints.Of(a), Fingerprints.Of(d));
    }

    private static ReserveCommand Reserve(Dictionary<string, string> labels, long estimate) =>
        new("r1", new Attribution(Tenant: "acme", Labels: labels), estimate, null, default, 0);
}
