namespace BudgetGrains.Grains.Tests;

/// <summary>The limits are consistent with each other (TigerBeetle style: a limit on everything, checked together).</summary>
public sealed class LimitsTests
{
    [Fact]
    public void HeldAmountOfAFullScopeCannotOverflow() =>
        Assert.True((Int128)Limits.MaxOpenHoldsPerScope * Limits.MaxCallAmountNanos <= long.MaxValue);

    [Fact]
    public void LimitPlusAFullScopeOfHoldsFitsInALong() =>
        Assert.True((Int128)Limits.MaxLimitNanos + (Int128)Limits.MaxOpenHoldsPerScope * Limits.MaxCallAmountNanos <= long.MaxValue);

    [Fact]
    public void PricingTheLargestUsageAtTheHighestPriceCannotOverflow() =>
        Assert.True(4 * (Int128)Limits.MaxTokensPerCall * Limits.MaxPriceNanosPerToken <= long.MaxValue, "input, cached input, output, reasoning");

    [Fact]
    public void ChargingTheLargestMeterQuantityAtTheHighestPriceFitsIn128Bits() =>
        // CatalogMeter.Cost multiplies in 128 bits, then divides by per_units (at least 1); MeterCatalog caps each charge
        // and the sum of a call's meters at MaxCallAmountNanos + 1, so a call's meters plus its tokens fit a long.
        Assert.True((Int128)Limits.MaxMeterQuantityPerCall * Limits.MaxMeterPriceNanos < Int128.MaxValue
            && (Int128)Limits.MaxCallAmountNanos * 2 + 1 <= long.MaxValue);

    [Fact]
    public void AnAttributionNamingEveryKindFitsInTheChain() =>
        Assert.True(6 + Limits.MaxNamedBudgets <= Limits.MaxChainLength, "task, agent, feature, tenant, team, cost center + named budgets");

    [Fact]
    public void EveryAdmissionChainFitsInOneWatchStream() =>
        Assert.True(Limits.MaxChainLength <= Limits.MaxWatchScopes, "a pre-check cache watches an attribution's whole chain");

    [Fact]
    public void AFullSharedCostImportFitsInTheStoreAndAReportHoldsAYearOfMonths()
    {
        Assert.True(Limits.MaxSharedCostsPerImport <= Limits.MaxSharedCosts);
        Assert.True(Limits.MaxAllocationDays <= Limits.MaxReconciliationDays, "an allocation range is no longer than a reconciliation's");
        Assert.True(Limits.MaxAllocationPools >= 12, "a year of monthly costs of one pool fits one report");
    }

    [Fact]
    public void DefaultsLieWithinTheirBounds()
    {
        Assert.InRange(Limits.DefaultHoldTtlMs, Limits.MinHoldTtlMs, Limits.MaxHoldTtlMs);
        Assert.InRange(Limits.DefaultPageSize, 1, Limits.MaxPageSize);
        Assert.True(Limits.MaxCallAmountNanos < Limits.MaxLimitNanos);
    }
}
