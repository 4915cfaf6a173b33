using System.Security.Cryptography.X509Certificates;
using BudgetGrains.Actors;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Server.Alerts;
using BudgetGrains.Server.Rest;
using BudgetGrains.Server.Services;
using BudgetGrains.Storage.Sqlite;
using BudgetGrains.Storage.Sqlite.Alerts;
using BudgetGrains.Storage.Sqlite.Budget;
using BudgetGrains.Storage.Sqlite.Prices;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace BudgetGrains.Server.Hosting;

/// <summary>
/// One silo: the grain runtime on the embedded SQLite store, serving budget.v1 over gRPC on Kestrel.
/// Used by the executable and by tests, which start it on port 0 in a temporary directory.
/// </summary>
public sealed class Silo : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ActorRuntime _runtime;
    private readonly SqliteGrainStorage _storage;
    private readonly AlertDispatcher _alerts;
    private readonly CancellationTokenSource _stopping = new();
    private readonly BudgetWatchHub _watch;
    private Task _statisticsLog = Task.CompletedTask;
    private int _disposed;

    private Silo(WebApplication app, ActorRuntime runtime, SqliteGrainStorage storage, IBudgetStore store, AlertDispatcher alerts, BudgetWatchHub watch, Uri address)
    {
        (_app, _runtime, _storage, Store, _alerts, _watch, Address) = (app, runtime, storage, store, alerts, watch, address);
    }

    /// <summary>Where clients reach the silo, e.g. http://127.0.0.1:5080.</summary>
    public Uri Address { get; }

    /// <summary>The HTTP/1.1 endpoint serving REST under /api/v1/, e.g. http://127.0.0.1:5081; null when turned off.</summary>
    public Uri? HttpAddress { get; private init; }

    /// <summary>The store's read side (counters, ledger sums), for operators and tests.</summary>
    public IBudgetStore Store { get; }

    public IGrainFactory Grains => _runtime;

    public RuntimeStatistics Statistics => _runtime.GetStatistics();

    /// <param name="clock">The grains' clock (hold expiry, rate limits); tests pass one they can move.</param>
    public static async Task<Silo> StartAsync(SiloOptions options, Action<ILoggingBuilder>? configureLogging = null,
        TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        BudgetWatchHub.ValidateSettings(options.BudgetWatchInterval, options.BudgetWatchHeartbeat, options.MaxBudgetWatchStreams);
        options.Alerts.Validate();
        var prices = options.PriceCatalog();
        var defaultPrices = PriceFile.ReadDefaults(options.DefaultPricesFile.Length == 0 ? "" : Path.GetFullPath(options.DefaultPricesFile));
        Directory.CreateDirectory(Path.GetDirectoryName(options.DatabasePath)!);
        var storage = new SqliteGrainStorage(options.DatabasePath, [new SqliteBudgetJournal(), new SqliteAlertJournal(), new SqlitePriceJournal()]);
        var store = new SqliteBudgetStore(storage.OpenReadConnection);
        var alertStore = new SqliteAlertStore(storage.OpenReadConnection);

        // The empty builder reads no appsettings and so watches no files: a default host watches its content root,
        // and every write of the store under ./data would wake that watcher.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.Logging.ClearProviders();
        (configureLogging ?? ConsoleLogging)(builder.Logging);
        builder.Services.AddSingleton<IBudgetStore>(store);
        builder.Services.AddSingleton(new AlertSignal());
        builder.Services.AddSingleton<IAlertStore>(alertStore);
        builder.Services.AddSingleton(services => AlertSinkFactory.Create(options.Alerts, services.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(prices);
        builder.Services.AddSingleton<IPriceStore>(new SqlitePriceStore(storage.OpenReadConnection));
        var certificate = options.TlsCertificatePath is { } path
            ? X509CertificateLoader.LoadPkcs12FromFile(path, options.TlsCertificatePassword)
            : null;
        var httpEndPoint = options.HttpEndPoint;
        ListenOptions? http = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenGrpc(options.ListenEndPoint, certificate);
            if (httpEndPoint is not null) http = kestrel.ListenHttp(httpEndPoint, certificate);
        });
        var readiness = new SiloReadiness();
        builder.Services.AddBudgetGrpc(options.MaxMessageBytes, readiness);
        // The services call the grain runtime, which is made from the built host's services: they are made with it
        // below, and the host asks for them only when calls arrive, after the silo started.
        AdmissionService? admission = null;
        ManagementService? management = null;
        AlertsService? alertStreams = null;
        builder.Services.AddSingleton(_ => admission!);
        builder.Services.AddSingleton(_ => management!);
        builder.Services.AddSingleton(_ => alertStreams!);
        var app = builder.Build();

        var runtimeOptions = new ActorRuntimeOptions();
        BudgetGrainsSetup.Configure(runtimeOptions);
        AlertGrainsSetup.Configure(runtimeOptions);
        runtimeOptions.IdleTimeoutByGrainType[GrainTypes.Scope] = options.ScopeIdleTimeout;
        var runtime = new ActorRuntime(runtimeOptions, storage, app.Services, clock ?? TimeProvider.System,
            app.Services.GetRequiredService<ILoggerFactory>()).AddBudgetGrains().AddAlertGrains();
        var (signal, sinks) = (app.Services.GetRequiredService<AlertSignal>(), app.Services.GetRequiredService<AlertSinks>());

        await PriceStartup.LoadAsync(runtime, defaultPrices, app.Logger);
        var watch = new BudgetWatchHub(runtime, options.BudgetWatchInterval, options.BudgetWatchHeartbeat, options.MaxBudgetWatchStreams,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<BudgetWatchHub>());
        // Open watch streams end when the host stops; otherwise it would wait for them until its shutdown timeout.
        app.Lifetime.ApplicationStopping.Register(watch.Stop);
        // Health answers NOT_SERVING from the moment the host begins to stop.
        app.Lifetime.ApplicationStopping.Register(readiness.Stopping);
        admission = new AdmissionService(new AdmissionApi(runtime, prices), watch);
        management = new ManagementService(new BudgetAdministration(runtime, store), new PriceAdministration(runtime, prices),
            new AlertAdministration(runtime, alertStore));
        alertStreams = new AlertsService(alertStore, signal, options.Alerts.PollInterval, sinks.Stopping);
        app.UseRestMirror(admission, management, options.MaxMessageBytes);
        app.MapBudgetGrpc();

        var alerts = new AlertDispatcher(runtime, sinks, signal, clock ?? TimeProvider.System, options.Alerts.PollInterval,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<AlertDispatcher>());
        await alerts.OpenAsync();

        await app.StartAsync(cancellationToken);
        alerts.Start();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var silo = new Silo(app, runtime, storage, store, alerts, watch, new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)))
        {
            HttpAddress = http is null ? null : RestHosting.AddressOf(http, tls: certificate is not null),
        };
        if (silo.HttpAddress is { } httpAddress) app.Logger.LogInformation("REST API on {Address}api/v1/", httpAddress);

        var woken = await BudgetGrainsSetup.WakeOpenReservationsAsync(runtime, store, cancellationToken);
        readiness.Ready();
        app.Logger.LogInformation("BudgetGrains silo ready on {Address} (store {Database}, {Open} open holds restored)",
            silo.Address.ToString().TrimEnd('/'), options.DatabasePath, woken);
        if (options.StatisticsInterval > TimeSpan.Zero) silo._statisticsLog = silo.LogStatisticsAsync(options.StatisticsInterval, app.Logger);
        return silo;
    }

    /// <summary>
    /// One line per event on the console; the host's own start-up chatter is left out (the silo says "ready"), and so is
    /// Grpc.AspNetCore's line per call answered with an error status (the caller has the status).
    /// </summary>
    public static void ConsoleLogging(ILoggingBuilder logging) => logging
        .AddFilter("Microsoft", LogLevel.Warning)
        .AddFilter("Grpc", LogLevel.Warning)
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });

    /// <summary>One line per interval: what an operator looks at first when the silo is slow.</summary>
    private async Task LogStatisticsAsync(TimeSpan interval, ILogger logger)
    {
        var before = _runtime.GetStatistics();
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                var now = _runtime.GetStatistics();
                logger.LogInformation("Runtime: {Rates}", RuntimeRates.Between(before, now, interval));
                before = now;
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Completes when the host is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Graceful stop: no new requests, every activation deactivated, every pending write flushed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stopping.Cancel();
        await _statisticsLog;
        await _alerts.DisposeAsync();
        await _app.StopAsync();
        await _watch.DisposeAsync();
        await _runtime.StopAsync(CancellationToken.None);
        await _runtime.DisposeAsync();
        await _storage.DisposeAsync();
        await _app.DisposeAsync();
    }
}
