using BudgetGrains.Grains;
using Orleans.Runtime;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Meters;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Grains.Access;
using BudgetGrains.Server.Alerts;
using BudgetGrains.Server.Auth;
using BudgetGrains.Server.Exports;
using BudgetGrains.Server.Allocation;
using BudgetGrains.Server.Reconciliation;
using BudgetGrains.Server.Tasks;
using BudgetGrains.Server.Observability;
using BudgetGrains.Server.Rest;
using BudgetGrains.Grains.Telemetry;
using BudgetGrains.Server.Services;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace BudgetGrains.Server.Hosting;

/// <summary>
/// One silo: Orleans (localhost clustering) with the journal on the embedded SQLite store, serving budget.v1 over gRPC
/// and REST on Kestrel, in one host. Used by the executable and by tests, which start it on port 0 in a temporary directory.
/// </summary>
public sealed class Silo : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IAsyncDisposable _storage;
    private readonly AlertDispatcher _alerts;
    private readonly CancellationTokenSource _stopping = new();
    private readonly BudgetWatchHub _watch;
    private Task _statisticsLog = Task.CompletedTask;
    private int _disposed;
    private DataDirectoryLock? _dataDirectory;

    private Silo(WebApplication app, IAsyncDisposable storage, IBudgetStore store, AlertDispatcher alerts, BudgetWatchHub watch, Uri address)
    {
        (_app, _storage, Store, _alerts, _watch, Address) = (app, storage, store, alerts, watch, address);
        Grains = app.Services.GetRequiredService<IGrainFactory>();
        Journal = app.Services.GetRequiredService<JournalService>();
        Scopes = app.Services.GetRequiredService<ScopeActivations>();
    }

    /// <summary>Where clients reach the silo, e.g. http://127.0.0.1:5080.</summary>
    public Uri Address { get; }

    /// <summary>The HTTP/1.1 endpoint serving REST under /api/v1/, e.g. http://127.0.0.1:5081; null when turned off.</summary>
    public Uri? HttpAddress { get; private init; }

    /// <summary>Whether calls need an API key (docs/decisions/0018).</summary>
    public bool AuthRequired { get; private init; }

    /// <summary>The store's read side (counters, ledger sums), for operators and tests.</summary>
    public IBudgetStore Store { get; }

    /// <summary>References to the silo's grains, for in-process callers (benchmarks, tests).</summary>
    public IGrainFactory Grains { get; }

    /// <summary>The journal the grains write through (its counters: batches, writes).</summary>
    public JournalService Journal { get; }

    /// <summary>The scope activations of this silo (the fencing of 0028 reloads them all, as tests do).</summary>
    public ScopeActivations Scopes { get; }

    /// <param name="clock">The silo's clock (hold expiry, periods, rate limits), also Orleans' own; tests pass one they can move.</param>
    public static async Task<Silo> StartAsync(SiloOptions options, Action<ILoggingBuilder>? configureLogging = null,
        TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        BudgetWatchHub.ValidateSettings(options.BudgetWatchInterval, options.BudgetWatchHeartbeat, options.MaxBudgetWatchStreams);
        options.Alerts.Validate();
        Reconciliations.ValidDriftPercent(options.ReconciliationDriftPercent);
        var prices = options.PriceCatalog();
        var scopeDefaults = options.ScopeDefaults();
        var defaultPrices = PriceFile.ReadDefaults(options.DefaultPricesFile.Length == 0 ? "" : Path.GetFullPath(options.DefaultPricesFile));
        var tls = TlsSettings.From(options);
        var profile = ClusterProfile.From(options);
        using var dataDirectory = DataDirectoryLock.Acquire(options); // I6: released here if the start fails, else by DisposeAsync
        var auth = AuthSetup.Resolve(options);
        var journal = await JournalBackend.OpenAsync(options, profile, cancellationToken);
        var storage = journal.Store;
        var storedKeys = await journal.Access.ReadKeysAsync(cancellationToken);
        if (auth.Required && !ApiKeyRegistry.HasAdmin(storedKeys, auth.BootstrapSecret))
        {
            await storage.DisposeAsync();
            throw new InvalidOperationException(
                "auth is required but there is no admin key to make the first keys with: start with --admin-key-file PATH (created with a new key if missing)");
        }

        // The empty builder reads no appsettings and so watches no files: a default host watches its content root,
        // and every write of the store under ./data would wake that watcher.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.Logging.ClearProviders();
        (configureLogging ?? ConsoleLogging)(builder.Logging);
        builder.Services.AddSingleton(clock ?? TimeProvider.System);
        builder.Services.AddSingleton(scopeDefaults);
        journal.Register(builder.Services).AddBudgetGrainServices();
        builder.Services.AddSingleton(services => AlertSinkFactory.Create(options.Alerts, services.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(prices);
        var httpEndPoint = options.HttpEndPoint;
        ListenOptions? http = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenGrpc(options.ListenEndPoint, tls);
            if (httpEndPoint is not null) http = kestrel.ListenHttp(httpEndPoint, tls);
        });
        builder.Services.AddSingleton(services => new AlertDispatcher(services.GetRequiredService<IGrainFactory>(),
            services.GetRequiredService<AlertSinks>(), services.GetRequiredService<AlertSignal>(), services.GetRequiredService<TimeProvider>(),
            options.Alerts.PollInterval, services.GetRequiredService<ILoggerFactory>().CreateLogger<AlertDispatcher>()));
        builder.UseBudgetGrainsSilo(options, profile);
        // After Orleans (hosted services start in registration order, Kestrel last): prices and outboxes are ready
        // before the listeners open.
        builder.Services.AddHostedService(services => new GrainStartup(services.GetRequiredService<IGrainFactory>(), defaultPrices,
            services.GetRequiredService<AlertDispatcher>(), services.GetRequiredService<ILoggerFactory>().CreateLogger<Silo>()));
        var readiness = new SiloReadiness();
        builder.Services.AddBudgetGrpc(options.MaxMessageBytes, readiness);
        builder.AddBudgetObservability(options.Telemetry);
        // The services call the grains through the built host's services: they are made with it
        // below, and the host asks for them only when calls arrive, after the silo started.
        AdmissionService? admission = null;
        ManagementService? management = null;
        AlertsService? alertStreams = null;
        builder.Services.AddSingleton(_ => admission!);
        builder.Services.AddSingleton(_ => management!);
        builder.Services.AddSingleton(_ => alertStreams!);
        AccessInterceptor? access = null;
        builder.Services.AddSingleton(_ => access!);
        var app = builder.Build();

        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var (store, alertStore) = (app.Services.GetRequiredService<IBudgetStore>(), app.Services.GetRequiredService<IAlertStore>());
        var (signal, sinks) = (app.Services.GetRequiredService<AlertSignal>(), app.Services.GetRequiredService<AlertSinks>());
        var watch = new BudgetWatchHub(grains, options.BudgetWatchInterval, options.BudgetWatchHeartbeat, options.MaxBudgetWatchStreams,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<BudgetWatchHub>());
        // Open watch streams end when the host stops; otherwise it would wait for them until its shutdown timeout.
        app.Lifetime.ApplicationStopping.Register(watch.Stop);
        // Health answers NOT_SERVING from the moment the host begins to stop.
        app.Lifetime.ApplicationStopping.Register(readiness.Stopping);
        var meters = app.Services.GetRequiredService<MeterCatalog>();
        var siloClock = app.Services.GetRequiredService<TimeProvider>();
        admission = new AdmissionService(new AdmissionApi(grains, prices, scopeDefaults, meters, app.Services.GetRequiredService<ScopeActivations>(), siloClock),
            watch, app.Services.GetRequiredService<LiveRates>());
        var keys = new ApiKeyRegistry(storedKeys, app.Services.GetRequiredService<JournalService>(), siloClock, auth.BootstrapSecret);
        var priceAdministration = new PriceAdministration(grains, prices);
        var budgetAdministration = new BudgetAdministration(grains, store, scopeDefaults, meters);
        management = new ManagementService(budgetAdministration, priceAdministration,
            new AlertAdministration(grains, alertStore)) {
            Keys = keys, AccessStore = app.Services.GetRequiredService<IAccessStore>(),
            Exports = new LedgerExports(app.Services.GetRequiredService<ILedgerExport>(), app.Services.GetRequiredService<IMeterStore>()),
            Meters = new MeterAdministration(grains, meters, app.Services.GetRequiredService<IMeterStore>()),
            Reconciliations = new Reconciliations(app.Services.GetRequiredService<IBillStore>(), priceAdministration,
                app.Services.GetRequiredService<JournalService>(), signal, siloClock, options.ReconciliationDriftPercent),
            Allocations = new Allocations(app.Services.GetRequiredService<ISharedCostStore>(), siloClock),
            Tasks = new TaskReports(app.Services.GetRequiredService<ITaskStore>(), budgetAdministration),
        };
        access = new AccessInterceptor(auth.Required, keys, new FailedAuthLimiter(options.Auth.MaxFailuresPerMinute, siloClock),
            new AuditLog(app.Services.GetRequiredService<JournalService>(), siloClock, management, keys), new TenantView(management.GetBudget));
        alertStreams = new AlertsService(alertStore, signal, options.Alerts.PollInterval, sinks.Stopping);
        app.UseGrpcShortCut();
        app.UseDashboardAccess(access);
        app.UseBudgetObservability(options.Telemetry, () => http);
        app.UseRestMirror(admission, management, options.MaxMessageBytes, access);
        app.MapBudgetGrpc();

        var alerts = app.Services.GetRequiredService<AlertDispatcher>();
        await app.StartAsync(cancellationToken);
        alerts.Start();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var silo = new Silo(app, storage, store, alerts, watch, new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)))
        {
            HttpAddress = http is null ? null : RestHosting.AddressOf(http, tls: tls is not null), AuthRequired = auth.Required, _dataDirectory = dataDirectory.Keep(bound),
        };
        if (silo.HttpAddress is { } httpAddress) app.Logger.LogInformation("REST API on {Address}api/v1/", httpAddress);
        if (auth.CreatedKeyFile is { } keyFile) app.Logger.LogWarning("Created admin key file {File} (mode 0600) with a new admin key", keyFile);
        app.Logger.LogInformation(auth.Required ? "API keys required (authorization: Bearer <key>)" : "Auth off: every call on loopback may do everything");

        var woken = await BudgetGrainsSetup.WakeOpenReservationsAsync(grains, store,
            app.Services.GetRequiredService<JournalService>().KeepsOpenHoldStates, cancellationToken);
        BudgetMeters.HoldsRestored(woken);
        readiness.Ready();
        app.Logger.LogInformation("BudgetGrains silo ready on {Address} (store {Database}, {Open} open holds restored)",
            silo.Address.ToString().TrimEnd('/'), journal.Description, woken);
        if (options.StatisticsInterval > TimeSpan.Zero) silo._statisticsLog = silo.LogStatisticsAsync(options.StatisticsInterval, app.Logger);
        return silo;
    }

    /// <summary>
    /// One line per event on the console; the host's own start-up chatter is left out (the silo says "ready"), and so is
    /// Grpc.AspNetCore's line per call answered with an error status (the caller has the status).
    /// </summary>
    public static void ConsoleLogging(ILoggingBuilder logging) => logging
        .AddFilter("Microsoft", LogLevel.Warning)
        .AddFilter("Orleans", LogLevel.Warning)
        .AddFilter("Grpc", LogLevel.Warning)
        .AddFilter("Polly", LogLevel.Warning)
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });

    /// <summary>One line per interval: what an operator looks at first when the silo is slow.</summary>
    private async Task LogStatisticsAsync(TimeSpan interval, ILogger logger)
    {
        var management = Grains.GetGrain<IManagementGrain>(0);
        var before = Journal.Statistics;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                var now = Journal.Statistics;
                logger.LogInformation("Silo: {Activations} activations, {Rates}", await management.GetTotalActivationCount(),
                    JournalStatistics.RatesBetween(before, now, interval));
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

    /// <summary>Graceful stop: no new requests, every activation deactivated (Orleans stops after Kestrel), every
    /// pending journal write flushed, then the store closed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stopping.Cancel();
        await _statisticsLog;
        await _alerts.DisposeAsync();
        await _app.StopAsync();
        await _watch.DisposeAsync();
        await _app.DisposeAsync();
        await _storage.DisposeAsync();
        _dataDirectory?.Dispose();
    }
}
