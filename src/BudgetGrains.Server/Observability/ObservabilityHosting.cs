using System.Net;
using System.Text.Json;
using BudgetGrains.Grains.Telemetry;
using BudgetGrains.Server.Auth;
using BudgetGrains.Server.Dashboard;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Dashboard;

namespace BudgetGrains.Server.Observability;

/// <summary>
/// Health (/healthz, /readyz), metrics (/metrics, OTLP), traces and the dashboards on the silo's HTTP port
/// (docs/operations.md, docs/decisions/0024-0026).
/// </summary>
internal static class ObservabilityHosting
{
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>Liveness: 200 while the process serves HTTP (docs/decisions/0024); the container and pod probes use it.</summary>
    public const string LivePath = "/healthz";

    /// <summary>Readiness: 200 when every health check passes, else 503.</summary>
    public const string ReadyPath = "/readyz";

    /// <summary>Orleans' instruments that "light" keeps: observable ones (read at collection only) and the catalog's and
    /// watchdog's (per activation, per check); the rest run on every message or grain call.</summary>
    private static bool IsLight(System.Diagnostics.Metrics.Instrument instrument) =>
        instrument.IsObservable || instrument.Name.Contains("catalog", StringComparison.Ordinal) || instrument.Name.Contains("watchdog", StringComparison.Ordinal);

    public static void AddBudgetObservability(this WebApplicationBuilder builder, TelemetryOptions telemetry)
    {
        telemetry.Validate();
        builder.Services.AddSingleton<JournalHealthCheck>();
        builder.Services.AddSingleton<MembershipHealthCheck>();
        builder.Services.AddHealthChecks()
            .AddCheck<JournalHealthCheck>(JournalHealthCheck.Name)
            .AddCheck<MembershipHealthCheck>(MembershipHealthCheck.Name);
        builder.Services.AddSingleton<LiveRates>();

        var otlp = telemetry.OtlpEndpoint.Length > 0;
        if (telemetry.Metrics || otlp)
        {
            var open = builder.Services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService("budgetgrains", serviceInstanceId: Environment.MachineName));
            if (telemetry.Metrics)
            {
                open.WithMetrics(metrics =>
                {
                    // No scrape cache (the exporter's default keeps an answer 300 ms): a scrape always shows what happened before it.
                    metrics.AddMeter(BudgetMeters.MeterName);
                    if (telemetry.OrleansMeters != "none") metrics.AddMeter(OrleansMeter);
                    // A dropped instrument is not listened to at all: Orleans does not record it.
                    if (telemetry.OrleansMeters == "light")
                        metrics.AddView(instrument => instrument.Meter.Name == OrleansMeter && !IsLight(instrument) ? MetricStreamConfiguration.Drop : null);
                    metrics.AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
                    if (otlp)
                        metrics.AddOtlpExporter((exporter, reader) =>
                        {
                            Configure(exporter, telemetry);
                            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)telemetry.OtlpExportInterval.TotalMilliseconds;
                        });
                });
            }
            if (telemetry.Tracing && otlp)
                // The admission span is the server span (it continues the caller's traceparent itself): ASP.NET Core's own
                // request span is not listened to, one span per call rather than two.
                open.WithTracing(tracing => tracing.AddSource(AdmissionTelemetry.SourceName)
                    .AddOtlpExporter(exporter => Configure(exporter, telemetry)));
        }
        if (telemetry.OrleansDashboard) builder.UseOrleans(silo => silo.AddDashboard(options => options.HideTrace = true));
    }

    private static void Configure(OtlpExporterOptions exporter, TelemetryOptions telemetry)
    {
        exporter.Endpoint = new Uri(telemetry.OtlpEndpoint);
        exporter.Protocol = telemetry.OtlpProtocol == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
    }

    /// <summary>The paths served here; on the gRPC endpoint they answer 404 (it keeps answering gRPC and the REST mirror alone).</summary>
    private static bool IsOurs(PathString path) =>
        path == "/" || path == LivePath || path == ReadyPath || path == "/metrics"
        || path.StartsWithSegments("/dashboard") || path.StartsWithSegments(DashboardAccess.OrleansPath) || path.StartsWithSegments(DashboardReports.Root);

    /// <summary>
    /// Serves the observability routes and the dashboard on the HTTP endpoint only (<paramref name="http"/>, known once
    /// Kestrel is configured; null when there is none). Call before the REST mirror: <c>/api/v1/reports/</c> is answered here.
    /// </summary>
    public static void UseBudgetObservability(this WebApplication app, TelemetryOptions telemetry, Func<ListenOptions?> http)
    {
        bool OnHttpPort(HttpContext context) => http() is { } listen && context.Connection.LocalPort == ((IPEndPoint)listen.EndPoint).Port;
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (!IsOurs(path))
            {
                await next(context);
                return;
            }
            if (!OnHttpPort(context))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            {
                if (path == LivePath)
                {
                    context.Response.ContentType = "text/plain; charset=utf-8";
                    context.Response.Headers.CacheControl = "no-store";
                    await context.Response.WriteAsync("ok\n", context.RequestAborted);
                    return;
                }
                if (path == ReadyPath)
                {
                    await ReadyAsync(context, context.RequestServices.GetRequiredService<HealthCheckService>());
                    return;
                }
            }
            if (path == DashboardSession.Path)
            {
                await DashboardSession.ServeAsync(context, context.RequestServices.GetRequiredService<AccessInterceptor>());
                return;
            }
            await next(context);
        });
        if (telemetry.Metrics) app.UseOpenTelemetryPrometheusScrapingEndpoint(context => context.Request.Path == "/metrics" && OnHttpPort(context));
        if (telemetry.Dashboard) app.UseBudgetDashboard();
        if (telemetry.OrleansDashboard) app.MapOrleansDashboard(DashboardAccess.OrleansPath);
    }

    /// <summary>200 when every check passes (the silo accepts calls, the journal takes writes, the silo is an active
    /// member), else 503; the body names each check's state either way. The gRPC health service answers from the same checks.</summary>
    private static async Task ReadyAsync(HttpContext context, HealthCheckService health)
    {
        var report = await health.CheckHealthAsync(context.RequestAborted);
        context.Response.StatusCode = report.Status == HealthStatus.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status == HealthStatus.Healthy ? "ready" : "not ready",
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString().ToLowerInvariant(), detail = e.Value.Description ?? "" }),
        }, cancellationToken: context.RequestAborted);
    }
}
