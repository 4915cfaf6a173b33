using BudgetGrains.Client;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Client.Tests;

/// <summary>One real silo per test collection: Kestrel on a free loopback port, a SQLite file in a temporary directory.</summary>
public sealed class SiloFixture : IAsyncLifetime
{
    /// <summary>A model the fixture's price catalog knows: 1,000 nanos per input token, 4,000 per output token.</summary>
    public const string PricedModel = "test-model";

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-client-tests-" + Guid.NewGuid().ToString("N"));
    private GrpcChannel _channel = null!;

    public Silo Silo { get; private set; } = null!;
    public ManagementClient Management { get; private set; } = null!;

    /// <summary>host:port, the form the Python and Node examples take.</summary>
    public string HostPort => $"{Silo.Address.Host}:{Silo.Address.Port}";

    public async Task InitializeAsync()
    {
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir };
        options.Prices[PricedModel] = new PriceOptions { InputNanos = 1_000, OutputNanos = 4_000 };
        Silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        _channel = GrpcChannel.ForAddress(Silo.Address);
        Management = new ManagementClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await Silo.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    /// <summary>A client of the fixture's silo (or of <paramref name="address"/>) that retries quickly, so tests stay short.</summary>
    public BudgetClient NewClient(Uri? address = null, Action<BudgetClientOptions>? configure = null)
    {
        var options = new BudgetClientOptions { Address = address ?? Silo.Address, InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) };
        configure?.Invoke(options);
        return new BudgetClient(options);
    }

    /// <summary>Creates <c>tenant/&lt;unique&gt;</c> with <paramref name="limitNanos"/> and returns the tenant key.</summary>
    public async Task<string> NewTenantAsync(string name, long limitNanos)
    {
        var key = $"{name}-{Guid.NewGuid():N}";
        await Management.UpsertBudgetAsync(new V1.UpsertBudgetRequest { Scope = "tenant/" + key, LimitNanos = limitNanos });
        return key;
    }

    public Task<V1.BudgetStatus> StatusAsync(string scope) => Management.GetBudgetAsync(new V1.GetBudgetRequest { Scope = scope }).ResponseAsync;
}

[CollectionDefinition(Name)]
public sealed class SiloCollection : ICollectionFixture<SiloFixture>
{
    public const string Name = "silo";
}
