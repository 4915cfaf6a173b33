using System.Net;
using System.Text.Json;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests.Rest;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Exports;

/// <summary>ExportLedger and ExportUsage over REST and gRPC against the collection's silo: every format's columns and
/// values for commits made through admission, the half-open time range, and bad input refused before any byte.</summary>
[Collection(SiloCollection.Name)]
public sealed class ExportTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);

    /// <summary>Three commits of one tenant: priced usage with labels that need CSV quoting, an amount, and a retry-free failure.</summary>
    private async Task<(Chain Chain, string[] Ids)> CommitThreeAsync()
    {
        var chain = Chain.Unique("export");
        await chain.CreateAsync(silo.Management, generous: 10_000_000_000);
        var ids = new List<string>();
        async Task CommitAsync(Action<ReserveRequest> shape, CommitRequest commit)
        {
            var reserve = Build.Reserve(chain.Attribution, 100_000_000);
            shape(reserve);
            var answer = await silo.Admission.ReserveAsync(reserve);
            Assert.Equal(Decision.Admitted, answer.Decision);
            commit.ReservationId = answer.ReservationId;
            await silo.Admission.CommitAsync(commit);
            ids.Add(answer.ReservationId);
        }
        await CommitAsync(r =>
        {
            r.Attribution.Labels["provider"] = "openai";
            r.Attribution.Labels["note"] = "a, \"quoted\"\nvalue";
        }, new CommitRequest { Usage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 1_000, OutputTokens = 500 }, Outcome = "resolved" });
        await CommitAsync(r => r.Attribution.Labels["provider"] = "anthropic", new CommitRequest { ActualNanos = 42_000_000, Outcome = "accepted" });
        await CommitAsync(_ => { }, new CommitRequest { ActualNanos = 1, Outcome = "failed" });
        return (chain, [.. ids]);
    }

    private async Task<string> GetAsync(string path, string mediaType)
    {
        using var response = await _rest.SendAsync(HttpMethod.Get, path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        return body;
    }

    [Fact]
    public async Task LedgerCsvHasOneRowPerCommitWithItsChainAmountsTokensAndLabels()
    {
        var (chain, ids) = await CommitThreeAsync();

        var rows = CsvText.Records(await GetAsync("api/v1/exports/ledger?format=csv", "text/csv"), out var header)
            .Where(r => ids.Contains(r["reservation_id"])).OrderBy(r => long.Parse(r["seq"])).ToList();

        Assert.Equal("seq", header[0]);
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal((chain.Tenant, chain.Feature, chain.Agent), (r["tenant"], r["feature"], r["agent"])));
        Assert.Equal(("test-model", "openai", "resolved"), (rows[0]["model"], rows[0]["provider"], rows[0]["outcome"]));
        Assert.Equal((1_000 * 1_000 + 500 * 4_000).ToString(), rows[0]["actual_nanos"]);
        Assert.Equal(("1000", "500"), (rows[0]["input_tokens"], rows[0]["output_tokens"]));
        var labels = JsonSerializer.Deserialize<Dictionary<string, string>>(rows[0]["labels"])!;
        Assert.Equal("a, \"quoted\"\nvalue", labels["note"]);
        Assert.Equal(("42000000", "anthropic", "accepted"), (rows[1]["actual_nanos"], rows[1]["provider"], rows[1]["outcome"]));
        Assert.Equal(("1", "", "failed"), (rows[2]["actual_nanos"], rows[2]["provider"], rows[2]["outcome"]));
        Assert.Contains(chain.TeamScope, rows[2]["chain"].Split(' '));
        Assert.Equal(chain.Team, rows[2]["team"]);
    }

    [Fact]
    public async Task LedgerJsonLinesAreOneObjectPerCommitAndTheRangeIsHalfOpen()
    {
        var (_, ids) = await CommitThreeAsync();
        var mine = (await GetAsync("api/v1/exports/ledger?format=jsonl", "application/x-ndjson")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement).Where(e => ids.Contains(e.GetProperty("reservation_id").GetString())).ToList();
        Assert.Equal(3, mine.Count);
        Assert.Equal(42_000_000, mine[1].GetProperty("actual_nanos").GetInt64());
        Assert.Equal(JsonValueKind.Array, mine[1].GetProperty("chain").ValueKind);

        var at = DateTimeOffset.Parse(mine[1].GetProperty("committed_at").GetString()!).ToUnixTimeMilliseconds();
        var exactly = await GetAsync($"api/v1/exports/ledger?format=jsonl&from_unix_ms={at}&to_unix_ms={at + 1}", "application/x-ndjson");
        var after = await GetAsync($"api/v1/exports/ledger?format=jsonl&from_unix_ms={at + 1}", "application/x-ndjson");
        var before = await GetAsync($"api/v1/exports/ledger?format=jsonl&to_unix_ms={at}", "application/x-ndjson");

        Assert.Contains(ids[1], exactly);
        Assert.DoesNotContain(ids[1], after);
        Assert.DoesNotContain(ids[1], before);
        Assert.All(exactly.Split('\n', StringSplitOptions.RemoveEmptyEntries),
            line => Assert.Equal(at, DateTimeOffset.Parse(JsonDocument.Parse(line).RootElement.GetProperty("committed_at").GetString()!).ToUnixTimeMilliseconds()));
    }

    [Fact]
    public async Task FocusCsvNamesTheSpecificationsColumnsAndCostsInDecimalCurrency()
    {
        var (chain, ids) = await CommitThreeAsync();

        var rows = CsvText.Records(await GetAsync("api/v1/exports/ledger?format=focus&currency=EUR", "text/csv"), out var header)
            .Where(r => ids.Contains(r["ResourceId"])).ToList();

        foreach (var column in new[] { "BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
                     "ProviderName", "ServiceName", "ServiceCategory", "ConsumedQuantity", "ConsumedUnit", "SubAccountId", "Tags" })
            Assert.Contains(column, header);
        Assert.Equal(3, rows.Count);
        var priced = rows.Single(r => r["ResourceId"] == ids[0]);
        Assert.Equal(("0.003000000", "0.003000000", "EUR"), (priced["BilledCost"], priced["EffectiveCost"], priced["BillingCurrency"]));
        Assert.Equal(("openai", "test-model", "1500", "Tokens", "Usage"), (priced["ProviderName"], priced["ServiceName"], priced["ConsumedQuantity"],
            priced["ConsumedUnit"], priced["ChargeCategory"]));
        Assert.Equal(chain.Tenant, priced["SubAccountId"]);
        var start = DateTimeOffset.Parse(priced["ChargePeriodStart"]);
        Assert.Equal((0, 0, 0), (start.Minute, start.Second, start.Millisecond));
        Assert.Equal(start.AddHours(1), DateTimeOffset.Parse(priced["ChargePeriodEnd"]));
        var tags = JsonSerializer.Deserialize<Dictionary<string, string>>(priced["Tags"])!;
        Assert.Equal((chain.Team, "openai"), (tags["team"], tags["provider"]));
        Assert.Equal("0.042000000", rows.Single(r => r["ResourceId"] == ids[1])["BilledCost"]);
    }

    [Fact]
    public async Task UsageExportHasTheScopesGroupingsOfThePeriod()
    {
        var (chain, _) = await CommitThreeAsync();

        var rows = CsvText.Records(await GetAsync($"api/v1/exports/usage?format=csv&scope_prefix={chain.TenantScope}", "text/csv"), out _);
        var jsonl = await GetAsync($"api/v1/exports/usage?format=jsonl&scope_prefix={chain.TenantScope}", "application/x-ndjson");

        Assert.All(rows, r => Assert.Equal(chain.TenantScope, r["scope"]));
        var byModel = rows.Where(r => r["group_by"] == "model").ToDictionary(r => r["key"], r => long.Parse(r["spent_nanos"]));
        Assert.Equal(3_000_000, byModel["test-model"]);
        var outcomes = rows.Where(r => r["group_by"] == "outcome").Select(r => r["key"]).Order().ToList();
        Assert.Equal(["accepted", "failed", "resolved"], outcomes);
        Assert.Equal(rows.Count, jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task UsageExportHasARowPerMeterWithItsQuantityAfterTheTokenRows()
    {
        var (gpu, tool) = (Meters.Unique("gpu"), Meters.Unique("tool"));
        await silo.Management.ImportMetersAsync(new ImportMetersRequest { Meters = { Meters.Of(gpu, 10, unit: "second"), Meters.Of(tool, 2_000, unit: "call") } });
        var chain = Chain.Unique("export-meters");
        await chain.CreateAsync(silo.Management, generous: 10_000_000_000);
        foreach (var (seconds, calls) in new[] { (30L, 2L), (12L, 0L) })
        {
            var held = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 1_000_000));
            var commit = new CommitRequest { ReservationId = held.ReservationId, ActualNanos = 5, Meters = { new MeterUsage { Meter = gpu, Quantity = seconds } } };
            if (calls > 0) commit.Meters.Add(new MeterUsage { Meter = tool, Quantity = calls });
            await silo.Admission.CommitAsync(commit);
        }

        var rows = CsvText.Records(await GetAsync($"api/v1/exports/usage?format=csv&scope_prefix={chain.TenantScope}", "text/csv"), out _);
        var jsonl = (await GetAsync($"api/v1/exports/usage?format=jsonl&scope_prefix={chain.TenantScope}", "application/x-ndjson"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();

        var meterRows = rows.Where(r => r["group_by"] == "meter").ToDictionary(r => r["key"]);
        Assert.Equal(("42", "420", "2"), (meterRows[gpu]["quantity"], meterRows[gpu]["spent_nanos"], meterRows[gpu]["commits"]));
        Assert.Equal(("2", "4000", "1"), (meterRows[tool]["quantity"], meterRows[tool]["spent_nanos"], meterRows[tool]["commits"]));
        Assert.All(rows.Where(r => r["group_by"] != "meter"), r => Assert.Equal("0", r["quantity"]));
        // The token rows first, then the meters': each part in its table's key order.
        Assert.Equal(rows.Count - 2, rows.FindIndex(r => r["group_by"] == "meter"));
        var gpuLine = Assert.Single(jsonl, j => j.GetProperty("group_by").GetString() == "meter" && j.GetProperty("key").GetString() == gpu);
        Assert.Equal(42, gpuLine.GetProperty("quantity").GetInt64());
    }

    [Fact]
    public async Task AnExportOverGrpcIsAStreamOfWholeRowChunksThatConcatenateToTheRestFile()
    {
        var (_, ids) = await CommitThreeAsync();
        var request = new ExportLedgerRequest { Format = "csv" };

        using var call = silo.Management.ExportLedger(request);
        var text = new System.Text.StringBuilder();
        var rows = 0;
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal("text/csv; charset=utf-8", chunk.ContentType);
            Assert.EndsWith("\r\n", chunk.Data.ToStringUtf8());
            text.Append(chunk.Data.ToStringUtf8());
            rows += chunk.Rows;
        }

        var parsed = CsvText.Records(text.ToString(), out _);
        Assert.Equal(parsed.Count, rows);
        Assert.Equal(3, parsed.Count(r => ids.Contains(r["reservation_id"])));
    }

    [Theory]
    [InlineData("api/v1/exports/ledger?format=xml", "format must be csv, jsonl or focus")]
    [InlineData("api/v1/exports/ledger", "format must be")]
    [InlineData("api/v1/exports/ledger?format=csv&from_unix_ms=5000&to_unix_ms=5000", "must be after from_unix_ms")]
    [InlineData("api/v1/exports/ledger?format=csv&from_unix_ms=-1", "0 or more")]
    [InlineData("api/v1/exports/ledger?format=focus&currency=usd", "not an ISO 4217 code")]
    [InlineData("api/v1/exports/usage?format=focus", "csv or jsonl for usage")]
    [InlineData("api/v1/exports/ledger?format=csv&limit=10", "unknown query parameter 'limit'")]
    public async Task ABadExportRequestIsA400WithTheErrorBodyAndNoFile(string path, string message)
    {
        Assert.Contains(message, await _rest.ErrorAsync(HttpMethod.Get, path, 400, "INVALID_ARGUMENT"));
    }

    [Fact]
    public async Task ABadExportRequestOverGrpcIsInvalidArgumentBeforeAnyChunk()
    {
        using var call = silo.Management.ExportLedger(new ExportLedgerRequest { Format = "csv", FromUnixMs = 10, ToUnixMs = 5 });

        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    public void Dispose() => _rest.Dispose();
}
