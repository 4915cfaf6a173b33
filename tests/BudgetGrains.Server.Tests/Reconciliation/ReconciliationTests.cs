using System.Globalization;
using System.Text.Json;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Tests.Rest;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Reconciliation;

/// <summary>ImportBill and GetReconciliation against the collection's silo: hand-made provider bills with known
/// differences from commits made through admission, the DRIFT alerts they raise, suggested prices, and bad files.
/// Each test has a provider of its own, so the rows it checks are its own.</summary>
[Collection(SiloCollection.Name)]
public sealed class ReconciliationTests(SiloFixture silo) : IDisposable
{
    private readonly RestCalls _rest = new(silo.Silo);
    private static readonly string Today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    private static long TodayMs => new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private async Task CommitAsync(string provider, CommitRequest commit, string? modelLabel = null)
    {
        var attribution = new Attribution { Tenant = Build.UniqueKey("rec"), Labels = { ["provider"] = provider } };
        if (modelLabel is not null) attribution.Labels["model"] = modelLabel;
        var hold = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 50_000_000));
        Assert.Equal(Decision.Admitted, hold.Decision);
        commit.ReservationId = hold.ReservationId;
        await silo.Admission.CommitAsync(commit);
    }

    private static CommitRequest Priced() => new() { Usage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 1_000, OutputTokens = 500 } };

    private static string Focus(params string[] rows) =>
        "BilledCost,BillingCurrency,ChargePeriodStart,ChargeCategory,ProviderName,SkuId,x_Model\r\n" + string.Join("\r\n", rows) + "\r\n";

    private Task<ImportBillResponse> ImportAsync(string id, string format, string content) =>
        _rest.CallAsync<ImportBillResponse>(HttpMethod.Put, "api/v1/bills/" + id, JsonSerializer.Serialize(new { format, content }));

    [Fact]
    public async Task AFocusBillIsComparedPerProviderModelAndDayWithItsDifferencesAlertsAndASuggestedPrice()
    {
        var provider = "p" + Guid.NewGuid().ToString("N")[..12];
        var (within, billOnly, ledgerOnly) = (Build.UniqueKey("within"), Build.UniqueKey("billonly"), Build.UniqueKey("ledgeronly"));
        await CommitAsync(provider, Priced());
        await CommitAsync(provider, Priced());                                   // 2 x $0.003 counted for test-model
        await CommitAsync(provider, new CommitRequest { ActualNanos = 1_000_000 }, within);
        await CommitAsync(provider, new CommitRequest { ActualNanos = 2_000_000 }, ledgerOnly);
        var bill = Focus(
            $"0.0072,USD,{Today}T00:00:00Z,Usage,{provider.ToUpperInvariant()},sku-1,{SiloFixture.PricedModel}",    // +20%
            $"0.00101,USD,{Today}T00:00:00Z,Usage,{provider},{within},",                                             // +1%: within 5%
            $"0.5,USD,{Today}T00:00:00Z,Usage,{provider},{billOnly},",
            $"0.09,USD,{Today}T00:00:00Z,Tax,{provider},,");

        var imported = await ImportAsync("focus-" + provider, "focus", bill);

        Assert.Equal((3, 1, 7_200_000 + 1_010_000 + 500_000_000L, "USD", false), (imported.Lines, imported.SkippedRows, imported.BilledNanos,
            imported.Currency, imported.Replaced));
        Assert.Equal((TodayMs, TodayMs + 86_400_000), (imported.FromUnixMs, imported.ToUnixMs));
        Assert.Equal(3, imported.AlertsRaised);
        var report = await silo.Management.GetReconciliationAsync(new GetReconciliationRequest { FromUnixMs = TodayMs, Provider = provider.ToUpperInvariant() });
        var rows = report.Rows.ToDictionary(r => r.Model);
        Assert.Equal(4, rows.Count);
        Assert.All(rows.Values, r => Assert.Equal((provider, TodayMs), (r.Provider, r.DayUnixMs)));
        var priced = rows[SiloFixture.PricedModel];
        Assert.Equal((7_200_000, 6_000_000, 1_200_000, 2_000, "drift", 2L), (priced.BilledNanos, priced.CountedNanos, priced.DifferenceNanos,
            priced.DriftBasisPoints, priced.Status, priced.Commits));
        Assert.Equal((10_000, 100, "matched"), (rows[within].DifferenceNanos, rows[within].DriftBasisPoints, rows[within].Status));
        Assert.Equal(("bill_only", 0L), (rows[billOnly].Status, rows[billOnly].CountedNanos));
        Assert.Equal(("ledger_only", -2_000_000L, -10_000L), (rows[ledgerOnly].Status, rows[ledgerOnly].DifferenceNanos, rows[ledgerOnly].DriftBasisPoints));
        Assert.Equal(5, report.DriftBoundPercent);
        var correction = Assert.Single(report.Corrections);
        Assert.Equal((SiloFixture.PricedModel, 1_000L, 1_200L, 4_000L, 4_800L), (correction.Model, correction.Current.InputNanosPerToken,
            correction.Suggested.InputNanosPerToken, correction.Current.OutputNanosPerToken, correction.Suggested.OutputNanosPerToken));

        var alerts = (await silo.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = $"provider/{provider}/" })).Alerts;
        Assert.Equal(3, alerts.Count);
        Assert.All(alerts, a => Assert.Equal((AlertKind.Drift, Period.Day, TodayMs, 5), (a.Kind, a.Period, a.PeriodStartUnixMs, a.ThresholdPercent)));
        var drift = alerts.Single(a => a.Scope == $"provider/{provider}/{SiloFixture.PricedModel}");
        Assert.Equal($"provider/{provider}/{SiloFixture.PricedModel} billed $0.0072 on {Today} where the ledger counted $0.006 (+20% drift, bound 5%)", drift.Message);

        var again = await ImportAsync("focus-" + provider, "focus", bill);
        Assert.True(again.Replaced);
        Assert.Equal(3, (await silo.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = $"provider/{provider}/" })).Alerts.Count);
        var replaced = await silo.Management.GetReconciliationAsync(new GetReconciliationRequest { FromUnixMs = TodayMs, Provider = provider });
        Assert.Equal(7_200_000, replaced.Rows.Single(r => r.Model == SiloFixture.PricedModel).BilledNanos);
    }

    [Fact]
    public async Task AnOpenAiCostsExportIsReadPerLineItemAndMatchesTheLedger()
    {
        var model = Build.UniqueKey("oa");
        await CommitAsync("OpenAI", new CommitRequest { ActualNanos = 3_000_000 }, model);
        var start = TodayMs / 1000;
        var json = JsonSerializer.Serialize(new[]
        {
            new { @object = "page", data = new[] { new { start_time = start, end_time = start + 86_400, results = new object[]
            {
                new { amount = new { value = 0.001m, currency = "usd" }, line_item = model + ", input", project_id = "proj_a" },
                new { amount = new { value = 0.002m, currency = "usd" }, line_item = model + ", output", project_id = "proj_b" },
            } } } },
        });

        var imported = await ImportAsync("openai-" + model, "openai", json);

        Assert.Equal((2, 3_000_000L, "USD"), (imported.Lines, imported.BilledNanos, imported.Currency));
        var report = await silo.Management.GetReconciliationAsync(new GetReconciliationRequest { FromUnixMs = TodayMs, Provider = "openai" });
        var row = report.Rows.Single(r => r.Model == model);
        Assert.Equal((3_000_000, 3_000_000, "matched"), (row.BilledNanos, row.CountedNanos, row.Status));
        // Other tests' commits labelled openai today may alert (the bill does not mention them); this model does not.
        Assert.Empty((await silo.Management.ListAlertsAsync(new ListAlertsRequest { ScopePrefix = $"provider/openai/{model}" })).Alerts);
    }

    [Fact]
    public async Task TheLedgersOwnFocusExportImportsBackWithNoDrift()
    {
        var provider = "rt" + Guid.NewGuid().ToString("N")[..12];
        var from = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await CommitAsync(provider, Priced());
        await CommitAsync(provider, new CommitRequest { ActualNanos = 123_456_789 }, Build.UniqueKey("rt"));
        using var response = await _rest.SendAsync(HttpMethod.Get, $"api/v1/exports/ledger?format=focus&from_unix_ms={from}");
        var export = await response.Content.ReadAsStringAsync();

        var imported = await ImportAsync("roundtrip-" + provider, "focus", export);

        Assert.Equal(0, imported.AlertsRaised);
        var report = await silo.Management.GetReconciliationAsync(new GetReconciliationRequest { FromUnixMs = TodayMs, Provider = provider });
        Assert.Equal(2, report.Rows.Count);
        Assert.All(report.Rows, r => Assert.Equal(("matched", 0L), (r.Status, r.DifferenceNanos)));
    }

    [Theory]
    [InlineData("focus", "BillingCurrency,ChargePeriodStart,ProviderName\r\nUSD,2026-11-02T00:00:00Z,x\r\n", "no BilledCost column")]
    [InlineData("focus", "BilledCost,BillingCurrency,ChargePeriodStart,ProviderName\r\n1,USD,2026-11-02T00:00:00Z,PROVIDER\r\n1,USD,yesterday,PROVIDER\r\n", "row 3: ChargePeriodStart 'yesterday'")]
    [InlineData("focus", "BilledCost,BillingCurrency,ChargePeriodStart,ProviderName\r\n1,USD,2026-11-02T00:00:00Z,PROVIDER\r\n1,EUR,2026-11-02T00:00:00Z,PROVIDER\r\n", "row 3: currency EUR")]
    [InlineData("focus", "BilledCost,BillingCurrency,ChargePeriodStart,ProviderName\r\nlots,USD,2026-11-02T00:00:00Z,PROVIDER\r\n", "BilledCost 'lots' is not a decimal")]
    [InlineData("focus", "BilledCost,BillingCurrency,ChargePeriodStart,ProviderName\r\n1,USD,2026-11-02T00:00:00Z\r\n", "row 2 has 3 fields")]
    [InlineData("openai", "{\"data\": [{\"start_time\": 1793577600, \"end_time\": 1793581200, \"results\": []}]}", "export with bucket_width=1d")]
    [InlineData("openai", "{\"data\": [{\"start_time\": 1793577600, \"end_time\": 1793664000, \"results\": [{\"amount\": {\"value\": 1, \"currency\": \"usd\"}}]}]}", "group_by=line_item")]
    [InlineData("openai", "[1, 2", "not JSON")]
    [InlineData("csv", "x", "format must be focus or openai")]
    public async Task ABadBillIsRefusedWholeAndChangesNothing(string format, string content, string message)
    {
        var provider = "bad" + Guid.NewGuid().ToString("N")[..12];

        var error = await _rest.ErrorAsync(HttpMethod.Put, "api/v1/bills/bad-" + provider, 400, "INVALID_ARGUMENT",
            JsonSerializer.Serialize(new { format, content = content.Replace("PROVIDER", provider, StringComparison.Ordinal) }));

        Assert.Contains(message, error, StringComparison.Ordinal);
        var report = await silo.Management.GetReconciliationAsync(new GetReconciliationRequest
        {
            FromUnixMs = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(),
            ToUnixMs = new DateTimeOffset(2026, 11, 4, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), Provider = provider,
        });
        Assert.Empty(report.Rows);
    }

    [Theory]
    [InlineData("bad id", "import_id 'bad id' has ' '")]
    public async Task ABadImportIdIsRefused(string id, string message)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ImportBillAsync(new ImportBillRequest
        {
            ImportId = id, Format = "focus", Content = Focus($"1,USD,{Today}T00:00:00Z,Usage,x,m,"),
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(message, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReportOfMoreThanAYearOrBackwardsIsRefused()
    {
        foreach (var request in new[] { new GetReconciliationRequest { FromUnixMs = 0, ToUnixMs = 400L * 86_400_000 },
                     new GetReconciliationRequest { FromUnixMs = 5 * 86_400_000, ToUnixMs = 2 * 86_400_000 } })
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => silo.Management.GetReconciliationAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        }
    }

    public void Dispose() => _rest.Dispose();
}
