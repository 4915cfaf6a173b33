using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Client.Tests;

/// <summary>A real silo with chosen status-stream settings, in its own temporary directory.</summary>
public sealed class WatchSilo : IAsyncDisposable
{
    private GrpcChannel _channel = null!;

    private WatchSilo(string dataDir) => DataDir = dataDir;

    public string DataDir { get; }

    public Silo Silo { get; private set; } = null!;

    public ManagementClient Management { get; private set; } = null!;

    /// <summary>Starts a silo reading watched scopes every <paramref name="interval"/>, on <paramref name="listen"/> and in
    /// <paramref name="dataDir"/> (a new temporary directory when null).</summary>
    public static async Task<WatchSilo> StartAsync(TimeSpan interval, TimeSpan heartbeat, string listen = "127.0.0.1:0", string? dataDir = null)
    {
        var silo = new WatchSilo(dataDir ?? Path.Combine(Path.GetTempPath(), "budgetgrains-precheck-" + Guid.NewGuid().ToString("N")));
        silo.Silo = await Silo.StartAsync(
            new SiloOptions { Listen = listen, DataDir = silo.DataDir, BudgetWatchInterval = interval, BudgetWatchHeartbeat = heartbeat },
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        silo._channel = GrpcChannel.ForAddress(silo.Silo.Address);
        silo.Management = new ManagementClient(silo._channel);
        return silo;
    }

    /// <summary>A client of this silo (or of <paramref name="address"/>) that retries and reconnects quickly.</summary>
    public BudgetClient NewClient(Uri? address = null, Action<BudgetClientOptions>? configure = null)
    {
        var options = new BudgetClientOptions { Address = address ?? Silo.Address, InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) };
        configure?.Invoke(options);
        return new BudgetClient(options);
    }

    public Task SetBudgetAsync(string scope, long limitNanos, string parent = "", bool frozen = false) =>
        Management.UpsertBudgetAsync(new V1.UpsertBudgetRequest { Scope = scope, LimitNanos = limitNanos, Parent = parent, Frozen = frozen }).ResponseAsync;

    /// <summary>limit − spent − held of <paramref name="scope"/>, read from the silo now.</summary>
    public async Task<long> RemainingAsync(string scope)
    {
        var status = await Management.GetBudgetAsync(new V1.GetBudgetRequest { Scope = scope });
        return status.LimitNanos - status.SpentNanos - status.HeldNanos;
    }

    /// <summary>Stops the silo and keeps its directory (a restart on the same address and directory picks it up).</summary>
    public async Task StopAsync()
    {
        _channel.Dispose();
        await Silo.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(DataDir, recursive: true);
    }
}

/// <summary>
/// Two silos for the pre-check tests: "live" reads watched scopes every 50 ms (heartbeat 200 ms), as a silo in service
/// does, only faster; "still" reads a scope only when a stream starts watching it, so the statuses a stream sends never
/// change after its first update: what the client then knows of its own calls is all it has.
/// </summary>
public sealed class WatchSilosFixture : IAsyncLifetime
{
    public WatchSilo Live { get; private set; } = null!;

    public WatchSilo Still { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Live = await WatchSilo.StartAsync(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200));
        Still = await WatchSilo.StartAsync(TimeSpan.FromHours(1), TimeSpan.FromHours(1));
    }

    public async Task DisposeAsync()
    {
        await Live.DisposeAsync();
        await Still.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WatchSilosCollection : ICollectionFixture<WatchSilosFixture>
{
    public const string Name = "watch-silos";
}

internal static class Wait
{
    /// <summary>Polls until <paramref name="condition"/> holds; false when it did not within <paramref name="within"/> (default 30 s).</summary>
    public static async Task<bool> UntilAsync(Func<bool> condition, TimeSpan? within = null)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < (within ?? TimeSpan.FromSeconds(30)))
        {
            if (condition()) return true;
            await Task.Delay(20);
        }
        return condition();
    }
}
