namespace BudgetGrains.Cli.Tests;

/// <summary>prices list/set/import/delete against a real silo: what is stored, what is printed, and bad files.</summary>
[Collection(SiloCollection.Name)]
public sealed class PricesCommandTests(SiloFixture silo) : IDisposable
{
    private readonly string _files = Directory.CreateTempSubdirectory("budgetctl-prices-").FullName;

    public void Dispose() => Directory.Delete(_files, recursive: true);

    [Fact]
    public async Task SetStoresThePriceInDollarsPerMillionTokensAndPrintsIt()
    {
        var model = SiloFixture.UniqueKey("set");

        var run = await silo.RunAsync("prices", "set", model, "--input", "2.50", "--output", "$10", "--cached-input", "0.125", "--as-of", "2025-08-07");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("", run.Stderr);
        Assert.Equal(model, run.Field("model"));
        Assert.Equal("$2.50 per 1M tokens", run.Field("input"));
        Assert.Equal("$0.125 per 1M tokens", run.Field("cached input"));
        Assert.Equal("$10.00 per 1M tokens", run.Field("output"));
        Assert.Equal("$10.00 per 1M tokens", run.Field("reasoning"));
        Assert.Equal("2025-08-07", run.Field("as of"));
        Assert.Equal("api", run.Field("source"));
    }

    [Fact]
    public async Task SetWithJsonPrintsNanosPerTokenAndDefaultsCachedInputToInput()
    {
        var model = SiloFixture.UniqueKey("setjson");

        var run = await silo.RunAsync("prices", "set", model, "--input", "0.15", "--output", "0.60", "--reasoning", "1", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var price = Assert.Single(run.JsonLines());
        Assert.Equal(model, price.GetProperty("model").GetString());
        Assert.Equal("150", price.GetProperty("inputNanosPerToken").GetString());
        Assert.Equal("150", price.GetProperty("cachedInputNanosPerToken").GetString());
        Assert.Equal("600", price.GetProperty("outputNanosPerToken").GetString());
        Assert.Equal("1000", price.GetProperty("reasoningNanosPerToken").GetString());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture), price.GetProperty("asOf").GetString()![..7]);
    }

    [Theory]
    [InlineData("0.0005", "error: --input: $0.0005 per 1M tokens is not a whole number of nanos per token: prices go in steps of $0.001 per 1M tokens")]
    [InlineData("cheap", "error: --input: 'cheap' is not an amount of money: write dollars like 25, 25.00, 0.042 or $1.50")]
    public async Task SetRefusesAPriceThatIsNotWholeNanosPerToken(string input, string message)
    {
        var run = await silo.RunAsync("prices", "set", SiloFixture.UniqueKey("frac"), "--input", input, "--output", "1");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(message, run.Stderr.Split('\n')[0]);
    }

    [Fact]
    public async Task SetRefusedByTheServerSaysWhy()
    {
        var run = await silo.RunAsync("prices", "set", "no spaces allowed", "--input", "1", "--output", "1");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: price.model 'no spaces allowed' contains 'U+0020'", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListFollowsEveryPageIntoOneTable()
    {
        var prefix = SiloFixture.UniqueKey("list") + "-";
        for (var i = 4; i >= 0; i--) await silo.RunAsync("prices", "set", $"{prefix}{i}", "--input", $"{i + 1}", "--output", "3", "--as-of", "2025-01-0" + (i + 1));

        var run = await silo.RunAsync("prices", "list", "--prefix", prefix, "--page-size", "2");

        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (var column in new[] { "model", "input", "cached input", "output", "reasoning", "as of", "source" })
        {
            Assert.Contains(column, run.Stdout, StringComparison.Ordinal);
        }

        var rows = run.Stdout.Split('\n').Where(line => line.Contains(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(5, rows.Count);
        Assert.All(rows.Select((row, i) => (row, i)), r =>
        {
            Assert.Contains($"{prefix}{r.i} ", r.row, StringComparison.Ordinal);
            Assert.Contains($"${r.i + 1}.00", r.row, StringComparison.Ordinal);
            Assert.Contains($"2025-01-0{r.i + 1}", r.row, StringComparison.Ordinal);
            Assert.Contains("api", r.row, StringComparison.Ordinal);
        });
        Assert.Contains("5 prices, in $ per 1M tokens", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListShowsTheShippedDefaultPrices()
    {
        var run = await silo.RunAsync("prices", "list", "--prefix", "gpt-4o");

        var row = Assert.Single(run.Stdout.Split('\n'), line => line.Contains("gpt-4o ", StringComparison.Ordinal));
        Assert.Contains("$2.50", row, StringComparison.Ordinal);
        Assert.Contains("$10.00", row, StringComparison.Ordinal);
        Assert.Contains("default", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListWithJsonPrintsOneObjectPerPriceInModelOrder()
    {
        var prefix = SiloFixture.UniqueKey("jsonlist") + "-";
        for (var i = 0; i < 3; i++) await silo.RunAsync("prices", "set", $"{prefix}{i}", "--input", "0.001", "--output", "0.002");

        var run = await silo.RunAsync("prices", "list", "--prefix", prefix, "--page-size", "2", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.JsonLines();
        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"{prefix}{i}"), lines.Select(l => l.GetProperty("model").GetString()));
        Assert.All(lines, l => Assert.Equal(("1", "2"), (l.GetProperty("inputNanosPerToken").GetString(), l.GetProperty("outputNanosPerToken").GetString())));
    }

    [Fact]
    public async Task ListOfNothingSaysSo()
    {
        var run = await silo.RunAsync("prices", "list", "--prefix", SiloFixture.UniqueKey("none"));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("no prices", run.Stdout.Trim());
    }

    [Fact]
    public async Task ImportStoresEveryPriceOfTheFileAndSaysHowManyWereNew()
    {
        var prefix = SiloFixture.UniqueKey("import") + "-";
        var file = Write("prices.json", $$"""
            {"prices": [
              {"model": "{{prefix}}a", "inputNanosPerToken": 2500, "cachedInputNanosPerToken": 1250, "outputNanosPerToken": 10000, "reasoningNanosPerToken": 10000, "asOf": "2025-08-07"},
              {"model": "{{prefix}}b", "input_nanos_per_token": "150", "output_nanos_per_token": 600, "as_of": "2025-08-07"}
            ]}
            """);

        var first = await silo.RunAsync("prices", "import", file);
        var again = await silo.RunAsync("prices", "import", file, "--json");
        var listed = await silo.RunAsync("prices", "list", "--prefix", prefix, "--json");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal("imported 2 prices from prices.json (2 new, 0 replaced)", first.Stdout.Trim());
        var response = Assert.Single(again.JsonLines());
        Assert.Equal((2, 0), (response.GetProperty("imported").GetInt32(), response.GetProperty("added").GetInt32()));
        Assert.Equal([$"{prefix}a", $"{prefix}b"], listed.JsonLines().Select(l => l.GetProperty("model").GetString()));
        Assert.Equal("150", listed.JsonLines()[1].GetProperty("inputNanosPerToken").GetString());
    }

    [Fact]
    public async Task ImportOfTheShippedDefaultFileWorks()
    {
        // A silo of its own: the import turns the shared silo's default prices into API prices.
        var own = new SiloFixture();
        await own.InitializeAsync();
        var shipped = Path.Combine(AppContext.BaseDirectory, "default-prices.json");

        CliRun run;
        try
        {
            run = await own.RunAsync("prices", "import", shipped);
        }
        finally
        {
            await own.DisposeAsync();
        }

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"^imported \d+ prices from default-prices\.json \(0 new, \d+ replaced\)$", run.Stdout.Trim());
    }

    [Fact]
    public async Task ImportOfAFileWithABadEntryImportsNothingAndNamesTheEntry()
    {
        var good = SiloFixture.UniqueKey("good");
        var file = Write("bad-entry.json", $$"""
            {"prices": [{"model": "{{good}}", "inputNanosPerToken": 1, "asOf": "2025-01-01"}, {"model": "x", "outputNanosPerToken": -4}]}
            """);

        var run = await silo.RunAsync("prices", "import", file);
        var listed = await silo.RunAsync("prices", "list", "--prefix", good);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.StartsWith("error: bad-entry.json: prices[1] of x: output_nanos_per_token is -4", run.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("(InvalidArgument); nothing was imported", run.Stderr.Trim(), StringComparison.Ordinal);
        Assert.Equal("no prices", listed.Stdout.Trim());
    }

    [Theory]
    [InlineData("not json at all", "error: broken.json is not a price file this command can read: ")]
    [InlineData("{\"models\": []}", "error: broken.json is not a price file this command can read: ")]
    [InlineData("{\"prices\": [{\"model\": \"m\", \"inputNanosPerToken\": \"cheap\"}]}", "error: broken.json is not a price file this command can read: ")]
    public async Task ImportOfAFileThatIsNotAPriceFileSaysSo(string content, string message)
    {
        var run = await silo.RunAsync("prices", "import", Write("broken.json", content));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith(message, run.Stderr, StringComparison.Ordinal);
        Assert.Single(run.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task ImportOfAMissingFileSaysSo()
    {
        var run = await silo.RunAsync("prices", "import", Path.Combine(_files, "nowhere.json"));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: nowhere.json is not a price file this command can read: Could not find file", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteRemovesThePriceOnce()
    {
        var model = SiloFixture.UniqueKey("delete");
        await silo.RunAsync("prices", "set", model, "--input", "1", "--output", "1");

        var deleted = await silo.RunAsync("prices", "delete", model);
        var again = await silo.RunAsync("prices", "delete", model);

        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Equal("DELETED", deleted.Stdout.Split('\n')[0].Trim());
        Assert.Equal(model, deleted.Field("model"));
        Assert.Equal(0, again.ExitCode);
        Assert.Equal("NOT FOUND: the model had no stored price", again.Stdout.Split('\n')[0].Trim());
        Assert.Equal("no prices", (await silo.RunAsync("prices", "list", "--prefix", model)).Stdout.Trim());
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_files, name);
        File.WriteAllText(path, content);
        return path;
    }
}
