using Microsoft.Extensions.DependencyInjection;

namespace BudgetGrains.Client.Tests;

[Collection(SiloCollection.Name)]
public sealed class DependencyInjectionTests(SiloFixture silo)
{
    [Fact]
    public async Task AddBudgetGrainsClientResolvesOneWorkingClient()
    {
        var tenant = await silo.NewTenantAsync("di", limitNanos: 1_000);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBudgetGrainsClient(o =>
        {
            o.Address = silo.Silo.Address;
            o.Timeout = TimeSpan.FromSeconds(2);
        });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<BudgetClient>();
        await using var hold = await client.ReserveAsync(new Attribution { Tenant = tenant }, 250);

        Assert.Same(client, provider.GetRequiredService<BudgetClient>());
        Assert.Equal(silo.Silo.Address, client.Address);
        Assert.Equal(750, hold.RemainingNanos);
        Assert.Equal(250, (await silo.StatusAsync("tenant/" + tenant)).HeldNanos);
    }
}
