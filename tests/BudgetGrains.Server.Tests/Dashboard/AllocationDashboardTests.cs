using System.Globalization;
using System.Text.Json;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using BudgetGrains.Server.Tests.Rest;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>The dashboard's Allocation and Reconciliation views in a real browser against a real silo: a shared cost split
/// over the tenants and features that spent through admission, and a provider bill with a known drift.</summary>
public sealed class AllocationDashboardTests
{
    private const string Model = "alloc-dashboard-model";

    [SkippableTheory]
    [InlineData("chromium")]
    [InlineData("firefox")]
    public async Task TheAllocationAndReconciliationViewsShowWhatTheApiReports(string browser)
    {
        await using var page = await Browser.OpenAsync(browser);
        var options = OwnSilo.NewOptions("dashboard-allocation");
        options.Prices[Model] = new PriceOptions { InputNanos = 1, OutputNanos = 1 };
        await using var silo = await OwnSilo.StartAsync(options);
        foreach (var (tenant, feature, tokens) in new[] { ("acme", "search", 3_000), ("globex", "chat", 1_000), ("", "chat", 1_000) })
        {
            var attribution = new Attribution { Tenant = tenant, Feature = feature, Labels = { ["provider"] = "acmeai" } };
            var hold = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 1_000_000));
            await silo.Admission.CommitAsync(new CommitRequest { ReservationId = hold.ReservationId, Usage = new TokenUsage { Model = Model, InputTokens = tokens } });
        }
        var now = DateTime.UtcNow;
        var month = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        await silo.Management.ImportSharedCostsAsync(new ImportSharedCostsRequest
        {
            Costs =
            {
                new SharedCost { Pool = "vector", PeriodStartUnixMs = month.ToUnixTimeMilliseconds(), PeriodEndUnixMs = month.AddMonths(1).ToUnixTimeMilliseconds(),
                    AmountNanos = 1_000_000_001, Driver = "tokens", Dimension = "tenant" },
                new SharedCost { Pool = "gpu", PeriodStartUnixMs = month.ToUnixTimeMilliseconds(), PeriodEndUnixMs = month.AddMonths(1).ToUnixTimeMilliseconds(),
                    AmountNanos = 7, Driver = "calls", Dimension = "feature", Estimated = true },
            },
        });
        using var rest = new RestCalls(silo.Silo);
        var today = now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await rest.CallAsync<ImportBillResponse>(HttpMethod.Put, "api/v1/bills/acmeai", JsonSerializer.Serialize(new
        {
            format = "focus",
            content = $"BilledCost,BillingCurrency,ChargePeriodStart,ChargeCategory,ProviderName,x_Model\r\n0.000006,USD,{today}T00:00:00Z,Usage,acmeai,{Model}\r\n",
        }));

        await page.GotoAsync(silo.Silo.HttpAddress!.ToString());

        // Allocation by tenant: every row's figures as GetAllocation reports them, the unallocated row included, and the
        // shares of the pool adding up to it exactly.
        var byTenant = await silo.Management.GetAllocationAsync(new GetAllocationRequest { Dimension = "tenant", FromUnixMs = month.ToUnixTimeMilliseconds() });
        Assert.Equal(["tenant/acme", "tenant/globex", "unallocated"], byTenant.Rows.Select(r => r.Scope));
        foreach (var row in byTenant.Rows)
        {
            var tr = $"#allocation-table tr[data-key='{row.Scope}']";
            await page.ExpectAttributeAsync($"{tr} [data-field=measured]", "data-nanos", row.MeasuredNanos.ToString(CultureInfo.InvariantCulture));
            await page.ExpectAttributeAsync($"{tr} [data-field=allocated]", "data-nanos", row.AllocatedNanos.ToString(CultureInfo.InvariantCulture));
            await page.ExpectAttributeAsync($"{tr} [data-field=unallocated]", "data-nanos", row.UnallocatedNanos.ToString(CultureInfo.InvariantCulture));
            await page.ExpectAttributeAsync($"{tr} [data-field=total]", "data-nanos", row.TotalNanos.ToString(CultureInfo.InvariantCulture));
        }
        var shares = await page.EvaluateAsync<long[]>(
            "[...document.querySelectorAll('#allocation-table tbody tr')].map(r => Number(r.querySelector('[data-field=allocated]').dataset.nanos) + Number(r.querySelector('[data-field=unallocated]').dataset.nanos))");
        Assert.Equal(1_000_000_001, shares.Sum());
        await page.ExpectAttributeAsync("#allocation-pools tr[data-key='vector'] [data-field=unallocated]", "data-nanos",
            byTenant.Pools.Single().UnallocatedNanos.ToString(CultureInfo.InvariantCulture));
        await page.ExpectContainsTextAsync("#allocation-pools tr[data-key='vector']", "tokens of calls without a tenant");
        await page.ExpectContainsTextAsync("#allocation-table tr[data-key='tenant/acme'] [data-field=shares]", "(allocated)");

        // By feature: the estimated GPU pool, 7 nanos over 1 + 2 calls.
        // Chosen as a script does: the Firefox driver (WebDriver BiDi) has no select-option call.
        Assert.True(await page.EvaluateAsync<bool>("(() => { const s = document.getElementById('allocation-by'); s.value = 'feature'; s.dispatchEvent(new Event('change')); return true; })()"));
        var byFeature = await silo.Management.GetAllocationAsync(new GetAllocationRequest { Dimension = "feature", FromUnixMs = month.ToUnixTimeMilliseconds() });
        foreach (var row in byFeature.Rows)
            await page.ExpectAttributeAsync($"#allocation-table tr[data-key='{row.Scope}'] [data-field=estimated]", "data-nanos",
                row.EstimatedNanos.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(7, byFeature.Rows.Sum(r => r.EstimatedNanos));
        await page.ExpectContainsTextAsync("#allocation-pools tr[data-key='gpu']", "gpu (estimate)");

        // Reconciliation: the bill's 6,000 nanos against the ledger's 5,000: +20%, past the 5% bound.
        var report = await silo.Management.GetReconciliationAsync(new GetReconciliationRequest { FromUnixMs = month.ToUnixTimeMilliseconds(), Provider = "acmeai" });
        var drift = Assert.Single(report.Rows);
        Assert.Equal(("drift", 2_000L), (drift.Status, drift.DriftBasisPoints));
        var tr2 = $"#reconciliation-table tr[data-key='acmeai/{Model}/{today}']";
        await page.ExpectAttributeAsync(tr2, "data-status", "drift");
        await page.ExpectAttributeAsync($"{tr2} [data-field=billed]", "data-nanos", "6000");
        await page.ExpectAttributeAsync($"{tr2} [data-field=counted]", "data-nanos", "5000");
        await page.ExpectAttributeAsync($"{tr2} [data-field=drift]", "data-value", "2000");
        await page.ExpectTextAsync($"{tr2} [data-field=drift]", "+20.00%");
        await page.ExpectContainsTextAsync("#reconciliation-summary", "past the 5% bound");
        await page.ExpectContainsTextAsync($"#reconciliation-corrections li[data-model='{Model}']", "Suggested price");
        await page.ScreenshotAsync(Path.Combine(Browser.Artifacts, browser == "chromium" ? "allocation.png" : $"allocation-{browser}.png"), fullPage: true);

        Assert.Empty(await Accessibility.UnnamedControlsAsync(page));
        Assert.Empty(await Accessibility.LowContrastTextAsync(page));
        Assert.Empty(page.Errors);
    }
}
