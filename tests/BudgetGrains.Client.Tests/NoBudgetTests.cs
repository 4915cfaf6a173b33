using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Client.Tests;

/// <summary>The SDK shows NO_BUDGET (decision 0023) as its own reason, on reserve and check, against a closed silo.</summary>
public sealed class NoBudgetTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-sdk-closed-" + Guid.NewGuid().ToString("N"));
    private Silo _silo = null!;

    public async Task InitializeAsync() => _silo = await Silo.StartAsync(
        new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir, UnknownScopes = "closed" }, logging => logging.SetMinimumLevel(LogLevel.Warning));

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task AChainWithoutAnyBudgetIsDeniedNoBudget()
    {
        await using var client = new BudgetClient(new BudgetClientOptions { Address = _silo.Address });
        var attribution = new Attribution { Tenant = "acmee-" + Guid.NewGuid().ToString("N"), Feature = "rerankk" };

        await using var hold = await client.ReserveAsync(attribution, 500);
        var check = await client.CheckAsync(attribution, 500);

        Assert.False(hold.Admitted);
        Assert.Equal((DenyReason.NoBudget, "feature/rerankk"), (hold.Reason, hold.DeniedScope));
        Assert.Equal((false, DenyReason.NoBudget, "feature/rerankk"), (check.Admitted, check.Reason, check.DeniedScope));
    }
}
