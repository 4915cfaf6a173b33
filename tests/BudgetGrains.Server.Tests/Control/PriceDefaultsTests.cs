using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests.Rest;

namespace BudgetGrains.Server.Tests.Control;

/// <summary>One rule for prices left out (decision 0022): cached input = input, reasoning = output, whichever rpc or
/// surface sets the price; a 0 is a price left out (proto3 has no presence for them).</summary>
[Collection(SiloCollection.Name)]
public sealed class PriceDefaultsTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    public void Dispose() => _rest.Dispose();

    private async Task<ModelPrice> StoredAsync(string model) =>
        Assert.Single((await silo.Management.ListPricesAsync(new ListPricesRequest { ModelPrefix = model })).Prices, p => p.Model == model);

    private static string Prices(ModelPrice p) =>
        $"{p.InputNanosPerToken}/{p.CachedInputNanosPerToken}/{p.OutputNanosPerToken}/{p.ReasoningNanosPerToken}";

    [Fact]
    public async Task ImportAndUpsertWithoutCachedAndReasoningStoreTheSamePrices()
    {
        var key = Build.UniqueKey("pd");
        var imported = new ImportPricesRequest { Prices = { new ModelPrice { Model = key + "-import", InputNanosPerToken = 2_500, OutputNanosPerToken = 10_000 } } };
        await silo.Management.ImportPricesAsync(imported);
        await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = new ModelPrice { Model = key + "-set", InputNanosPerToken = 2_500, OutputNanosPerToken = 10_000 } });
        await _rest.CallAsync<ImportPricesResponse>(HttpMethod.Post, "api/v1/prices",
            $$"""{"prices": [{"model": "{{key}}-rest-import", "inputNanosPerToken": "2500", "outputNanosPerToken": "10000", "asOf": "2026-11-01"}]}""");
        await _rest.CallAsync<ModelPrice>(HttpMethod.Put, $"api/v1/prices/{key}-rest-set", """{"inputNanosPerToken": "2500", "outputNanosPerToken": "10000"}""");

        foreach (var model in new[] { "-import", "-set", "-rest-import", "-rest-set" })
            Assert.Equal("2500/2500/10000/10000", Prices(await StoredAsync(key + model)));
    }

    [Fact]
    public async Task AZeroCachedOrReasoningPriceIsTakenAsLeftOut()
    {
        var model = Build.UniqueKey("pd-zero");
        await silo.Management.ImportPricesAsync(new ImportPricesRequest
        {
            Prices = { new ModelPrice { Model = model, InputNanosPerToken = 3, CachedInputNanosPerToken = 0, OutputNanosPerToken = 7, ReasoningNanosPerToken = 0 } },
        });

        Assert.Equal("3/3/7/7", Prices(await StoredAsync(model)));
    }

    [Fact]
    public async Task ALeftOutCachedPriceChargesCachedTokensAtTheInputPrice()
    {
        var model = Build.UniqueKey("pd-charge");
        await silo.Management.ImportPricesAsync(new ImportPricesRequest { Prices = { new ModelPrice { Model = model, InputNanosPerToken = 10, OutputNanosPerToken = 20 } } });
        var tenant = Build.UniqueKey("pd-tenant");

        var check = await silo.Admission.ReserveAsync(new ReserveRequest
        {
            RequestId = Build.NewRequestId(), Attribution = new Attribution { Tenant = tenant },
            EstimateUsage = new TokenUsage { Model = model, CachedInputTokens = 100, ReasoningTokens = 10 },
        });

        Assert.Equal(Decision.Admitted, check.Decision);
        Assert.Equal(100 * 10 + 10 * 20, check.HeldNanos);
    }
}
