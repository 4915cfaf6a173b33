using BudgetGrains.Contracts.V1;
using BudgetGrains.Grains;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>Prices across silo restarts on one data directory: API changes are durable, the default file is applied once
/// per price and never over an API price, configuration is layered between the two.</summary>
public sealed class PricePersistenceTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-prices-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task PricesSetThroughTheApiSurviveARestart()
    {
        var models = Enumerable.Range(0, 40).Select(i => $"model-{i:D2}").ToList();
        var chain = Chain.Unique("restart");
        await using (var first = await StartAsync())
        {
            // Concurrent upserts: each acknowledged one must be there after the restart.
            await Task.WhenAll(models.Select((m, i) => first.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of(m, i + 1) }).ResponseAsync));
            await first.Management.ImportPricesAsync(new ImportPricesRequest { Prices = { Prices.Of("imported", 77, asOf: "2025-07-01") } });
            await first.Management.DeletePriceAsync(new DeletePriceRequest { Model = models[0] });
        }

        await using var second = await StartAsync();
        await chain.CreateAsync(second.Management, generous: 1_000_000);
        var reserve = Build.Reserve(chain.Attribution, 0);
        reserve.EstimateUsage = new TokenUsage { Model = models[9], OutputTokens = 100 };
        var admitted = await second.Admission.ReserveAsync(reserve);

        var listed = await second.Management.ListAllPricesAsync("");
        Assert.Equal(models.Skip(1).Prepend("imported"), listed.Select(p => p.Model));
        Assert.Equal(Prices.Of("imported", 77, asOf: "2025-07-01", source: "api"), listed[0]);
        Assert.All(listed.Skip(1), p => Assert.Equal(("api", "2025-03-04", int.Parse(p.Model[^2..]) + 1L), (p.Source, p.AsOf, p.InputNanosPerToken)));
        Assert.Equal((Decision.Admitted, 100 * 10L), (admitted.Decision, admitted.HeldNanos));
    }

    [Fact]
    public async Task TheDefaultFileIsAppliedOnceAndNeverReplacesAnApiPrice()
    {
        var file = WriteDefaults("first.json", Prices.Of("kept", 1, "2025-01-01"), Prices.Of("overridden", 2, "2025-01-01"), Prices.Of("removed", 3, "2025-01-01"));
        await using (var first = await StartAsync(file))
        {
            Assert.Equal(
                [Prices.Of("kept", 1, "2025-01-01", "default"), Prices.Of("overridden", 2, "2025-01-01", "default"), Prices.Of("removed", 3, "2025-01-01", "default")],
                await first.Management.ListAllPricesAsync(""));
            await first.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of("overridden", 20, "2025-02-02") });
            await first.Management.DeletePriceAsync(new DeletePriceRequest { Model = "removed" });
        }

        // The same file again: the administrator's change and delete stand.
        await using (var second = await StartAsync(file))
        {
            Assert.Equal(
                [Prices.Of("kept", 1, "2025-01-01", "default"), Prices.Of("overridden", 20, "2025-02-02", "api")],
                await second.Management.ListAllPricesAsync(""));
        }

        // A newer file: new and re-dated defaults apply, except over an API price.
        var newer = WriteDefaults("newer.json", Prices.Of("kept", 4, "2025-06-01"), Prices.Of("overridden", 5, "2025-06-01"),
            Prices.Of("removed", 6, "2025-06-01"), Prices.Of("added", 7, "2025-06-01"));
        await using var third = await StartAsync(newer);
        Assert.Equal(
            [Prices.Of("added", 7, "2025-06-01", "default"), Prices.Of("kept", 4, "2025-06-01", "default"),
                Prices.Of("overridden", 20, "2025-02-02", "api"), Prices.Of("removed", 6, "2025-06-01", "default")],
            await third.Management.ListAllPricesAsync(""));
    }

    [Fact]
    public async Task ConfigurationOverridesTheDefaultFileAndAnApiPriceOverridesConfiguration()
    {
        var file = WriteDefaults("defaults.json", Prices.Of("layered", 1, "2025-01-01"));
        var configured = new Dictionary<string, PriceOptions> { ["layered"] = new() { InputNanos = 2, CachedInputNanos = 2, OutputNanos = 2, ReasoningNanos = 2 } };
        await using var silo = await StartAsync(file, configured);
        var chain = Chain.Unique("layered");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);
        async Task<long> HeldForTenTokensAsync()
        {
            var reserve = Build.Reserve(chain.Attribution, 0);
            reserve.EstimateUsage = new TokenUsage { Model = "layered", InputTokens = 10 };
            return (await silo.Admission.ReserveAsync(reserve)).HeldNanos;
        }

        var fromConfig = (Assert.Single(await silo.Management.ListAllPricesAsync("")), await HeldForTenTokensAsync());
        await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of("layered", 3, "2025-02-02") });
        var fromApi = (Assert.Single(await silo.Management.ListAllPricesAsync("")), await HeldForTenTokensAsync());
        await silo.Management.DeletePriceAsync(new DeletePriceRequest { Model = "layered" });
        var backToConfig = (Assert.Single(await silo.Management.ListAllPricesAsync("")), await HeldForTenTokensAsync());

        Assert.Equal((Prices.Of("layered", 2, "", "config"), 20L), fromConfig);
        Assert.Equal((Prices.Of("layered", 3, "2025-02-02", "api"), 30L), fromApi);
        Assert.Equal((Prices.Of("layered", 2, "", "config"), 20L), backToConfig);
    }

    [Fact]
    public async Task TheCatalogRefusesModelsBeyondItsLimitAndKeepsWhatItHas()
    {
        await using var silo = await StartAsync();
        var full = new ImportPricesRequest();
        full.Prices.AddRange(Enumerable.Range(0, Limits.MaxPricedModels).Select(i => Prices.Of($"m{i:D5}", 1)));
        var tooMany = new ImportPricesRequest { Prices = { full.Prices } };
        tooMany.Prices.Add(Prices.Of("one-more", 1));

        var tooManyError = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ImportPricesAsync(tooMany).ResponseAsync);
        await silo.Management.ImportPricesAsync(full);
        var fullError = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of("one-more", 1) }).ResponseAsync);
        var replaced = await silo.Management.UpsertPriceAsync(new UpsertPriceRequest { Price = Prices.Of("m00000", 9) });

        Assert.Equal(StatusCode.InvalidArgument, tooManyError.StatusCode);
        Assert.Equal(StatusCode.ResourceExhausted, fullError.StatusCode);
        Assert.Contains($"the limit is {Limits.MaxPricedModels}", fullError.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(9, replaced.InputNanosPerToken);
        Assert.Equal(Limits.MaxPricedModels, (await silo.Management.ListAllPricesAsync("")).Count);
    }

    [Fact]
    public async Task ABadDefaultFileStopsTheSiloWithAMessageNamingTheEntry()
    {
        var file = WriteDefaults("bad.json", Prices.Of("fine", 1, "2025-01-01"), Prices.Of("undated", 1, ""));
        var notJson = Path.Combine(_dataDir, "not-json.json");
        File.WriteAllText(notJson, "{\"prices\": [{\"model\": \"x\", \"inputNanos\": 5}]}");

        var undated = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(file));
        var unknownField = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(notJson));
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(Path.Combine(_dataDir, "missing.json")));

        Assert.Equal($"BudgetGrains:DefaultPricesFile {file}: prices[1] (undated) has no as_of: a default price must say when it was taken", undated.Message);
        Assert.Contains("inputNanos", unknownField.Message, StringComparison.Ordinal);
        Assert.Contains("missing.json cannot be read as a price file", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadConfigurationPriceStopsTheSilo()
    {
        var configured = new Dictionary<string, PriceOptions> { ["bad model"] = new() { InputNanos = 1 } };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(configured: configured));

        Assert.Contains("BudgetGrains:Prices.model 'bad model' contains 'U+0020'", error.Message, StringComparison.Ordinal);
    }

    private string WriteDefaults(string name, params ModelPrice[] prices)
    {
        Directory.CreateDirectory(_dataDir);
        var path = Path.Combine(_dataDir, name);
        var file = new ImportPricesRequest();
        file.Prices.AddRange(prices);
        File.WriteAllText(path, Google.Protobuf.JsonFormatter.Default.Format(file));
        return path;
    }

    /// <summary>A silo on this test's data directory; without a default file unless one is given.</summary>
    private async Task<RunningSilo> StartAsync(string defaultPricesFile = "", Dictionary<string, PriceOptions>? configured = null)
    {
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir, DefaultPricesFile = defaultPricesFile };
        foreach (var (model, price) in configured ?? []) options.Prices[model] = price;
        var silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        return new RunningSilo(silo, GrpcChannel.ForAddress(silo.Address));
    }

    private sealed record RunningSilo(Silo Silo, GrpcChannel Channel) : IAsyncDisposable
    {
        public ManagementClient Management { get; } = new(Channel);
        public AdmissionClient Admission { get; } = new(Channel);

        public async ValueTask DisposeAsync()
        {
            Channel.Dispose();
            await Silo.DisposeAsync();
        }
    }
}
