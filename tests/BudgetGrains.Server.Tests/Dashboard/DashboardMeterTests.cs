using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>The dashboard's Meters view in a real browser against a real silo: the catalog as ListMeters gives it, and a
/// scope's usage per meter (from real metered commits) in the scope's detail, as GetMeterUsage reports it, and the scope's
/// meter limits with their used and held quantities as GetBudget reports them.</summary>
public sealed class DashboardMeterTests
{
    [SkippableTheory]
    [InlineData("chromium")]
    [InlineData("firefox")]
    public async Task TheMetersViewShowsTheCatalogAndTheScopeDetailItsUsagePerMeter(string browser)
    {
        await using var page = await Browser.OpenAsync(browser);
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("dashboard-meters"));
        var m = silo.Management;
        await m.ImportMetersAsync(new ImportMetersRequest
        {
            Meters =
            {
                new Meter { Name = "gpu_seconds", Unit = "second", PriceNanos = 500_000, AsOf = "2026-11-30" },
                new Meter { Name = "embedding_tokens", Unit = "token", PriceNanos = 20_000_000, PerUnits = 1_000_000, AsOf = "2026-11-29" },
            },
        });
        await m.UpsertBudgetAsync(new UpsertBudgetRequest
        {
            Scope = "team/research", LimitNanos = 100_000_000_000, MeterLimits = { new MeterLimit { Meter = "gpu_seconds", MaxQuantity = 144_000 } },
        });
        foreach (var (gpu, tokens) in new[] { (3_600L, 2_000_000L), (1_200L, 500_001L) })
        {
            var reserve = Build.Reserve(new Attribution { Team = "research" }, 0);
            reserve.EstimateMeters.Add(new MeterUsage { Meter = "gpu_seconds", Quantity = gpu });
            var held = await silo.Admission.ReserveAsync(reserve);
            Assert.Equal(Decision.Admitted, held.Decision);
            await silo.Admission.CommitAsync(new CommitRequest
            {
                ReservationId = held.ReservationId,
                Meters = { new MeterUsage { Meter = "gpu_seconds", Quantity = gpu }, new MeterUsage { Meter = "embedding_tokens", Quantity = tokens } },
            });
        }

        var open = Build.Reserve(new Attribution { Team = "research" }, 0);
        open.EstimateMeters.Add(new MeterUsage { Meter = "gpu_seconds", Quantity = 600 });
        Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(open)).Decision);

        await page.GotoAsync(silo.Silo.HttpAddress!.ToString());

        await page.ExpectTextAsync("#meter-table tr[data-key='gpu_seconds'] [data-field=price]", "$0.0005 per second");
        await page.ExpectTextAsync("#meter-table tr[data-key='embedding_tokens'] [data-field=price]", "$0.02 per 1,000,000 token");
        await page.ExpectAttributeAsync("#meter-table tr[data-key='embedding_tokens'] [data-field=price]", "data-nanos", "20000000");
        await page.ClickAsync("tr[data-scope='team/research'] a.scope");
        var usage = await m.GetMeterUsageAsync(new GetMeterUsageRequest { Scope = "team/research" });
        Assert.Equal(2, usage.Rows.Count);
        foreach (var row in usage.Rows)
        {
            var selector = $"#usage-meters tr[data-key='{row.Meter}']";
            await page.ExpectAttributeAsync($"{selector} [data-field=quantity]", "data-value", row.Quantity.ToString());
            await page.ExpectAttributeAsync($"{selector} [data-field=spent]", "data-nanos", row.SpentNanos.ToString());
            await page.ExpectTextAsync($"{selector} [data-field=commits]", "2");
        }
        await page.ExpectAttributeAsync("#detail-facts [data-field=spent]", "data-nanos", usage.Rows.Sum(r => r.SpentNanos).ToString());
        const string limit = "#detail-meter-limits tr[data-key='gpu_seconds']";
        await page.ExpectAttributeAsync($"{limit} [data-field=used]", "data-value", "4800");
        await page.ExpectAttributeAsync($"{limit} [data-field=held]", "data-value", "600");
        await page.ExpectAttributeAsync($"{limit} [data-field=limit]", "data-value", "144000");
        await page.ExpectTextAsync($"{limit} [data-field=left]", "138,600");
        await page.ScreenshotAsync(Path.Combine(Browser.Artifacts, browser == "chromium" ? "meters.png" : $"meters-{browser}.png"), fullPage: true);
        Assert.Empty(await Accessibility.UnnamedControlsAsync(page));
        Assert.Empty(await Accessibility.LowContrastTextAsync(page));
        Assert.Empty(page.Errors);
    }
}
