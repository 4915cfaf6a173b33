using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests.Rest;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Control;

/// <summary>A budget's currency is an ISO 4217 code from the list shipped in code, and a parent keeps the same currency.</summary>
[Collection(SiloCollection.Name)]
public sealed class CurrencyTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    public void Dispose() => _rest.Dispose();

    [Theory]
    [InlineData("XYZ", "not an ISO 4217 currency code")]
    [InlineData("ABC", "not an ISO 4217 currency code")]
    [InlineData("eur", "must be written in capitals: EUR")]
    [InlineData("XTS", "not an ISO 4217 currency code")]
    [InlineData("EURO", "not an ISO 4217 currency code")]
    public async Task ACodeNotOnTheIsoListIsRefused(string currency, string message)
    {
        var scope = "team/" + Build.UniqueKey("iso");

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Management.UpsertBudgetAsync(
            new UpsertBudgetRequest { Scope = scope, LimitNanos = 1, Currency = currency }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(message, error.Status.Detail, StringComparison.Ordinal);
        Assert.False((await silo.Management.StatusAsync(scope)).HasBudget());
    }

    [Theory]
    [InlineData("USD")]
    [InlineData("EUR")]
    [InlineData("JPY")]
    [InlineData("CHF")]
    [InlineData("XCG")]
    public async Task IsoCodesAreTaken(string currency)
    {
        var status = await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/" + Build.UniqueKey("iso-ok"), LimitNanos = 1, Currency = currency });

        Assert.Equal(currency, status.Currency);
    }

    [Fact]
    public async Task AParentInAnotherCurrencyIsRefusedNamingBoth()
    {
        var key = Build.UniqueKey("fx");
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "cost_center/" + key, LimitNanos = 100, Currency = "EUR" });

        var child = await Assert.ThrowsAsync<RpcException>(() => silo.Management.UpsertBudgetAsync(
            new UpsertBudgetRequest { Scope = "team/" + key, LimitNanos = 10, Parent = "cost_center/" + key }).ResponseAsync);
        var rest = await _rest.ErrorAsync(HttpMethod.Patch, $"api/v1/budgets/team/{key}-rest", 409, "FAILED_PRECONDITION",
            $$"""{"parent": "cost_center/{{key}}", "currency": "GBP"}""");

        Assert.Equal(StatusCode.FailedPrecondition, child.StatusCode);
        Assert.Contains("EUR", child.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("USD", child.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("GBP", rest, StringComparison.Ordinal);
        Assert.False((await silo.Management.StatusAsync("team/" + key)).HasBudget());
    }

    [Fact]
    public async Task ChangingTheCurrencyAwayFromTheParentsIsRefusedAndTheSameCurrencyIsTaken()
    {
        var key = Build.UniqueKey("fx2");
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "cost_center/" + key, LimitNanos = 100, Currency = "EUR" });
        var child = await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = "team/" + key, LimitNanos = 10, Parent = "cost_center/" + key, Currency = "EUR" });

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest
        {
            Scope = "team/" + key, Currency = "USD", UpdateMask = new FieldMask { Paths = { "currency" } },
        }).ResponseAsync);

        Assert.Equal(("EUR", "cost_center/" + key), (child.Currency, child.Parent));
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("EUR", (await silo.Management.StatusAsync("team/" + key)).Currency);
    }
}

internal static class StatusExtensions
{
    /// <summary>Whether a status shows a budget (a scope without one reads as zeros, no thresholds).</summary>
    public static bool HasBudget(this BudgetStatus s) => s.ThresholdPercents.Count > 0;
}
