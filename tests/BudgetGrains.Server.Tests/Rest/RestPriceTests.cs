using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>Prices over REST: model names with slashes and colons in the path, a price file as the body of an import.</summary>
[Collection(SiloCollection.Name)]
public sealed class RestPriceTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    [Fact]
    public async Task PutListAndDeleteAPriceWhoseNameHasSlashesAndColons()
    {
        var model = $"ft:openai/gpt-4o:{Build.UniqueKey("rest")}";

        var put = await _rest.CallAsync<ModelPrice>(HttpMethod.Put, "api/v1/prices/" + model,
            """{"inputNanosPerToken": "2500", "output_nanos_per_token": 10000, "asOf": "2025-08-07"}""");
        var listed = await _rest.CallAsync<ListPricesResponse>(HttpMethod.Get, "api/v1/prices?model_prefix=" + Uri.EscapeDataString(model));
        var deleted = await _rest.CallAsync<DeletePriceResponse>(HttpMethod.Delete, "api/v1/prices/" + model);

        // Cached input and reasoning left out take the input and output prices (decision 0022).
        Assert.Equal(new ModelPrice { Model = model, InputNanosPerToken = 2_500, CachedInputNanosPerToken = 2_500, OutputNanosPerToken = 10_000,
            ReasoningNanosPerToken = 10_000, AsOf = "2025-08-07", Source = "api" }, put);
        Assert.Equal([put], listed.Prices);
        Assert.True(deleted.Deleted);
        Assert.Empty(await silo.Management.ListAllPricesAsync(model));
    }

    [Fact]
    public async Task PostImportsAPriceFileAllOrNone()
    {
        var prefix = Build.UniqueKey("rest-import") + "-";

        var imported = await _rest.CallAsync<ImportPricesResponse>(HttpMethod.Post, "api/v1/prices",
            $$"""{"prices": [{"model": "{{prefix}}a", "inputNanosPerToken": 1, "asOf": "2025-01-01"}, {"model": "{{prefix}}b", "inputNanosPerToken": 2}]}""");
        var refused = await _rest.ErrorAsync(HttpMethod.Post, "api/v1/prices", 400, "INVALID_ARGUMENT",
            $$"""{"prices": [{"model": "{{prefix}}c", "inputNanosPerToken": 1}, {"model": "{{prefix}}d", "inputNanosPerToken": -1}]}""");

        Assert.Equal(new ImportPricesResponse { Imported = 2, Added = 2 }, imported);
        Assert.StartsWith("prices[1] of ", refused, StringComparison.Ordinal);
        Assert.Equal([$"{prefix}a", $"{prefix}b"], (await silo.Management.ListAllPricesAsync(prefix)).Select(p => p.Model));
    }

    [Fact]
    public async Task ABadPriceIsA400WithTheReason()
    {
        var message = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/prices/" + Build.UniqueKey("rest-bad"), 400, "INVALID_ARGUMENT",
            """{"inputNanosPerToken": -1}""");

        Assert.Contains("input_nanos_per_token is -1", message, StringComparison.Ordinal);
    }

    public void Dispose() => _rest.Dispose();
}
