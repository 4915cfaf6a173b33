using BudgetGrains.Contracts.V1;
using BudgetGrains.Grains;
using Grpc.Core;

namespace BudgetGrains.Server.Tests;

/// <summary>The price rpcs on the shared silo: what is stored, listed, refused, and how admission prices with it.
/// Every test uses models of its own, so they run in any order.</summary>
[Collection(SiloCollection.Name)]
public sealed class PriceCatalogTests(SiloFixture silo)
{
    [Fact]
    public async Task UpsertStoresThePriceAsSourceApiAndFillsAsOfWithToday()
    {
        var dated = Prices.Unique("dated");
        var undated = Prices.Unique("undated");

        var dayBefore = Today();
        var stored = await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of(dated, 2_500, asOf: "2025-01-02", source: "default") });
        var today = await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of(undated, 100, asOf: "") });

        Assert.Equal(Prices.Of(dated, 2_500, asOf: "2025-01-02", source: "api"), stored);
        Assert.Contains(today.AsOf, new[] { dayBefore, Today() });
        Assert.Equal([stored], await silo.Management.ListAllPricesAsync(dated));
    }

    private static string Today() => DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task ListPagesThroughThePricesOfAPrefixInModelOrder()
    {
        var prefix = Prices.Unique("page") + "-";
        var models = Enumerable.Range(0, 7).Select(i => $"{prefix}{i}").Reverse().ToList();
        foreach (var model in models) await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of(model, 10) });
        await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of(prefix[..^1], 10) });

        var pages = new List<ListPricesResponse>();
        var request = new ListPricesRequest { ModelPrefix = prefix, PageSize = 3 };
        do
        {
            pages.Add(await silo.Management.ListPricesAsync(request));
            request.PageToken = pages[^1].NextPageToken;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal([3, 3, 1], pages.Select(p => p.Prices.Count));
        Assert.Equal(models.Order(StringComparer.Ordinal), pages.SelectMany(p => p.Prices).Select(p => p.Model));
    }

    [Fact]
    public async Task TheShippedDefaultFileIsLoadedAtFirstStart()
    {
        var gpt4o = Assert.Single(await silo.Management.ListAllPricesAsync("gpt-4o"), p => p.Model == "gpt-4o");

        Assert.Equal(("default", 2_500L, 10_000L), (gpt4o.Source, gpt4o.InputNanosPerToken, gpt4o.OutputNanosPerToken));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", gpt4o.AsOf);
        Assert.Contains(await silo.Management.ListAllPricesAsync("claude-"), p => p.Source == "default");
        Assert.Contains(await silo.Management.ListAllPricesAsync("gemini-"), p => p.Source == "default");
    }

    public static TheoryData<string, string> BadPrices => new()
    {
        { "empty model", "price.model must be 1 to 128 characters" },
        { "model over 128", "price.model must be 1 to 128 characters" },
        { "space in model", "contains 'U+0020'" },
        { "negative input", "input_nanos_per_token is -1" },
        { "output above the maximum", "output_nanos_per_token is 10000001" },
        { "negative reasoning", "reasoning_nanos_per_token is -5" },
        { "as_of not a date", "as_of '2025-13-01' is not a date" },
        { "as_of in another format", "as_of '01/02/2025' is not a date" },
    };

    [Theory]
    [MemberData(nameof(BadPrices))]
    public async Task ABadPriceIsRefusedAndChangesNothing(string defect, string message)
    {
        var model = Prices.Unique("bad");
        var before = await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of(model, 1_000, asOf: "2025-02-03") });
        var price = Prices.Of(model, 2_000, asOf: "2025-04-05");
        switch (defect)
        {
            case "empty model": price.Model = ""; break;
            case "model over 128": price.Model = new string('m', Limits.MaxModelNameLength + 1); break;
            case "space in model": price.Model = model + " x"; break;
            case "negative input": price.InputNanosPerToken = -1; break;
            case "output above the maximum": price.OutputNanosPerToken = Limits.MaxPriceNanosPerToken + 1; break;
            case "negative reasoning": price.ReasoningNanosPerToken = -5; break;
            case "as_of not a date": price.AsOf = "2025-13-01"; break;
            case "as_of in another format": price.AsOf = "01/02/2025"; break;
        }
        var countBefore = (await silo.Management.ListAllPricesAsync("")).Count;

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = price }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(message, error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal([before], await silo.Management.ListAllPricesAsync(model));
        Assert.Equal(countBefore, (await silo.Management.ListAllPricesAsync("")).Count);
    }

    [Fact]
    public async Task AnImportWithOneBadOrRepeatedEntryImportsNothing()
    {
        var good = Prices.Unique("import-good");
        var bad = new ImportPricesRequest { Prices = { Prices.Of(good, 10), Prices.Of(Prices.Unique("import-bad"), -3) } };
        var repeated = new ImportPricesRequest { Prices = { Prices.Of(good, 10), Prices.Of(good, 20) } };

        var badError = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ImportPricesAsync(bad).ResponseAsync);
        var repeatedError = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ImportPricesAsync(repeated).ResponseAsync);
        var emptyError = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ImportPricesAsync(new ImportPricesRequest()).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, badError.StatusCode);
        Assert.StartsWith("prices[1] of ", badError.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, repeatedError.StatusCode);
        Assert.Contains($"prices[1]: model {good} is also prices[0]", repeatedError.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, emptyError.StatusCode);
        Assert.Empty(await silo.Management.ListAllPricesAsync(good));
    }

    [Fact]
    public async Task AnImportStoresEveryEntryAndCountsTheNewModels()
    {
        var existing = Prices.Unique("import-existing");
        var added = Prices.Unique("import-added");
        await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of(existing, 1) });

        var response = await silo.Management.ImportPricesAsync(new ImportPricesRequest { Prices = { Prices.Of(existing, 7, asOf: "2025-05-06"), Prices.Of(added, 8) } });

        Assert.Equal(new ImportPricesResponse { Imported = 2, Added = 1 }, response);
        Assert.Equal(Prices.Of(existing, 7, asOf: "2025-05-06", source: "api"), Assert.Single(await silo.Management.ListAllPricesAsync(existing)));
        Assert.Equal(8, Assert.Single(await silo.Management.ListAllPricesAsync(added)).InputNanosPerToken);
    }

    [Theory]
    [InlineData(-1, "", "page_size must be between 0 and 1000")]
    [InlineData(1001, "", "page_size must be between 0 and 1000")]
    [InlineData(10, "not base64!", "page_token is not one this server gave out")]
    public async Task ListRefusesABadPageSizeOrToken(int pageSize, string pageToken, string message)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Management.ListPricesAsync(new ListPricesRequest { PageSize = pageSize, PageToken = pageToken }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, message), (error.StatusCode, error.Status.Detail));
    }

    [Fact]
    public async Task AReserveWithEstimateUsageIsPricedByAnApiPrice()
    {
        var model = Prices.Unique("reserve");
        var chain = Chain.Unique("api-priced");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        await silo.Management.UpsertPriceAsync(new UpsertPriceRequest
        {
            Price = new ModelPrice { Model = model, InputNanosPerToken = 3, CachedInputNanosPerToken = 1, OutputNanosPerToken = 11, ReasoningNanosPerToken = 13 },
        });
        var usage = new TokenUsage { Model = model, InputTokens = 100, CachedInputTokens = 40, OutputTokens = 20, ReasoningTokens = 5 };
        var reserve = Build.Reserve(chain.Attribution, 0);
        reserve.EstimateUsage = usage;

        var check = await silo.Admission.CheckAsync(new CheckRequest { Attribution = chain.Attribution, EstimateUsage = usage });
        var admitted = await silo.Admission.ReserveAsync(reserve);
        var commit = await silo.Admission.CommitAsync(new CommitRequest { ReservationId = admitted.ReservationId, Usage = usage });

        const long Priced = 100 * 3 + 40 * 1 + 20 * 11 + 5 * 13;
        Assert.Equal(Decision.Admitted, check.Decision);
        Assert.Equal((Decision.Admitted, Priced, EstimateSource.PricedUsage), (admitted.Decision, admitted.HeldNanos, admitted.EstimateSource));
        Assert.Equal(Priced, commit.ChargedNanos);
    }

    [Fact]
    public async Task DeletingAPriceMakesTheModelUnknownPrice()
    {
        var model = Prices.Unique("deleted");
        var chain = Chain.Unique("unpriced");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of(model, 5) });
        var usage = new TokenUsage { Model = model, InputTokens = 10 };
        var before = Build.Reserve(chain.Attribution, 0);
        before.EstimateUsage = usage;
        Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(before)).Decision);

        var deleted = await silo.Management.DeletePriceAsync(new DeletePriceRequest { Model = model });
        var after = Build.Reserve(chain.Attribution, 0);
        after.EstimateUsage = usage;
        var denied = await silo.Admission.ReserveAsync(after);
        var commit = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Admission.CommitAsync(new CommitRequest { ReservationId = before.RequestId, Usage = usage }).ResponseAsync);
        var again = await silo.Management.DeletePriceAsync(new DeletePriceRequest { Model = model });

        Assert.True(deleted.Deleted);
        Assert.Equal((Decision.Denied, DenyReason.UnknownPrice), (denied.Decision, denied.Reason));
        Assert.Equal(StatusCode.FailedPrecondition, commit.StatusCode);
        Assert.False(again.Deleted);
        Assert.Empty(await silo.Management.ListAllPricesAsync(model));
    }

    [Fact]
    public async Task AConfigurationPriceCannotBeDeletedThroughTheApi()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Management.DeletePriceAsync(new DeletePriceRequest { Model = SiloFixture.PricedModel }).ResponseAsync);
        var listed = Assert.Single(await silo.Management.ListAllPricesAsync(SiloFixture.PricedModel));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("BudgetGrains:Prices:test-model", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(("config", "", 1_000L), (listed.Source, listed.AsOf, listed.InputNanosPerToken));
    }

    [Fact]
    public async Task DeleteRefusesAMalformedModelName()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Management.DeletePriceAsync(new DeletePriceRequest { Model = "" }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, "model must be 1 to 128 characters"), (error.StatusCode, error.Status.Detail));
    }
}

/// <summary>Builders for price tests.</summary>
internal static class Prices
{
    public static string Unique(string name) => $"{name}-{Guid.NewGuid():N}";

    /// <summary>A price with every kind of token at <paramref name="nanos"/> per token.</summary>
    public static ModelPrice Of(string model, long nanos, string asOf = "2025-03-04", string source = "") => new()
    {
        Model = model,
        InputNanosPerToken = nanos,
        CachedInputNanosPerToken = nanos,
        OutputNanosPerToken = nanos,
        ReasoningNanosPerToken = nanos,
        AsOf = asOf,
        Source = source,
    };

    /// <summary>Every page of ListPrices for a prefix.</summary>
    public static async Task<List<ModelPrice>> ListAllPricesAsync(this ManagementClient management, string prefix)
    {
        var prices = new List<ModelPrice>();
        var request = new ListPricesRequest { ModelPrefix = prefix, PageSize = Limits.MaxPageSize };
        do
        {
            var page = await management.ListPricesAsync(request);
            prices.AddRange(page.Prices);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return prices;
    }
}
