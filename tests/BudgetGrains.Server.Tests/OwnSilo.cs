using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>A clock that stands still until the test moves it (timers still run on real time), so rates and projections
/// come out exact.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Log lines a silo wrote, kept for assertions.</summary>
internal sealed class CapturedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(string Category, LogLevel Level, string Message)> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) lines.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}

/// <summary>A silo of its own for one test (its own data directory, options and clock), restartable on the same directory;
/// for tests that move a clock, restart, or need options the shared fixture does not have.</summary>
internal sealed class OwnSilo : IAsyncDisposable
{
    private readonly TimeProvider? _clock;
    private GrpcChannel _channel = null!;

    private OwnSilo(SiloOptions options, TimeProvider? clock) => (Options, _clock) = (options, clock);

    public SiloOptions Options { get; }

    public Silo Silo { get; private set; } = null!;

    public CapturedLog Log { get; private set; } = null!;

    public AdmissionClient Admission { get; private set; } = null!;

    public ManagementClient Management { get; private set; } = null!;

    public AlertsClient Alerts { get; private set; } = null!;

    /// <summary>Options on a free loopback port and a new temporary data directory.</summary>
    public static SiloOptions NewOptions(string name) =>
        new() { Listen = "127.0.0.1:0", DataDir = Path.Combine(Path.GetTempPath(), $"budgetgrains-{name}-" + Guid.NewGuid().ToString("N")) };

    /// <summary>Fast retries, so tests of retrying do not wait for production delays.</summary>
    public static SiloOptions FastRetryOptions(params WebhookOptions[] webhooks)
    {
        var options = NewOptions("alerts");
        options.Alerts.RetryInitialDelay = TimeSpan.FromMilliseconds(50);
        options.Alerts.RetryMaxDelay = TimeSpan.FromMilliseconds(200);
        options.Alerts.Webhooks.AddRange(webhooks);
        return options;
    }

    public GrpcChannel Channel => _channel;

    public static async Task<OwnSilo> StartAsync(SiloOptions options, TimeProvider? clock = null)
    {
        var silo = new OwnSilo(options, clock);
        await silo.StartAsync();
        return silo;
    }

    /// <summary>Stops the silo gracefully and starts a new one on the same data directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>Reserves and commits <paramref name="nanos"/> on the attribution's chain.</summary>
    public async Task SpendAsync(Attribution attribution, long nanos)
    {
        var reserve = await Admission.ReserveAsync(Build.Reserve(attribution, nanos));
        Assert.Equal(Decision.Admitted, reserve.Decision);
        await Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = nanos, Outcome = "ok" });
    }

    /// <summary>Every alert of scopes starting with <paramref name="prefix"/>, newest first.</summary>
    public async Task<List<Alert>> AlertsAsync(string prefix, bool unacknowledgedOnly = false)
    {
        var alerts = new List<Alert>();
        var request = new ListAlertsRequest { ScopePrefix = prefix, UnacknowledgedOnly = unacknowledgedOnly };
        do
        {
            var page = await Management.ListAlertsAsync(request);
            alerts.AddRange(page.Alerts);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return alerts;
    }

    /// <summary>Waits until the alerts of <paramref name="prefix"/> satisfy <paramref name="condition"/>; returns them then.</summary>
    public async Task<List<Alert>> AlertsWhenAsync(string prefix, Func<List<Alert>, bool> condition)
    {
        List<Alert> alerts = [];
        Assert.True(await Build.EventuallyAsync(async () => condition(alerts = await AlertsAsync(prefix)), TimeSpan.FromSeconds(60)),
            $"alerts of {prefix} never got there; last seen: {string.Join("; ", alerts)}");
        return alerts;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Directory.Exists(Options.DataDir)) Directory.Delete(Options.DataDir, recursive: true);
    }

    private async Task StartAsync()
    {
        Log = new CapturedLog();
        Silo = await Silo.StartAsync(Options, logging => logging.AddProvider(Log), _clock);
        _channel = GrpcChannel.ForAddress(Silo.Address);
        (Admission, Management, Alerts) = (new AdmissionClient(_channel), new ManagementClient(_channel), new AlertsClient(_channel));
    }

    public async Task StopAsync()
    {
        if (Silo is null) return;
        _channel.Dispose();
        await Silo.DisposeAsync();
        Silo = null!;
    }
}
