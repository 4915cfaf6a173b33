namespace BudgetGrains.Server.Observability;

/// <summary>Metrics, traces and the dashboards (section BudgetGrains:Telemetry; docs/configuration.md, docs/operations.md).</summary>
public sealed class TelemetryOptions
{
    /// <summary>Record the silo's meters and serve them at /metrics on the HTTP port (Prometheus text format).</summary>
    public bool Metrics { get; set; } = true;

    /// <summary>Record Reserve/Commit/Release/Check spans (ActivitySource <c>BudgetGrains</c>); exported when
    /// <see cref="OtlpEndpoint"/> is set, else seen only by in-process listeners.</summary>
    public bool Tracing { get; set; } = true;

    /// <summary>Which of Orleans' own instruments (meter Microsoft.Orleans) are exported: "light" (its gauges, which cost
    /// only when scraped, and its activation and watchdog counters), "all" (also the per-message and per-call ones:
    /// messaging, dispatcher, directory lookups, request latency, which run on every grain call) or "none".</summary>
    public string OrleansMeters { get; set; } = "light";

    /// <summary>OTLP collector (e.g. http://127.0.0.1:4317); "" = no OTLP export. Metrics and traces go there.</summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>"grpc" (port 4317) or "http/protobuf" (port 4318).</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>How often metrics are pushed to the OTLP collector.</summary>
    public TimeSpan OtlpExportInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Serve the FinOps dashboard at / on the HTTP port.</summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>Serve the Orleans dashboard (Microsoft.Orleans.Dashboard) at /orleans on the HTTP port. Off by default: its
    /// grain-call profiler runs on every grain call (docs/decisions/0025-observability.md).</summary>
    public bool OrleansDashboard { get; set; }

    public void Validate()
    {
        if (OtlpEndpoint.Length > 0 && !Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out _))
            throw new InvalidOperationException($"BudgetGrains:Telemetry:OtlpEndpoint '{OtlpEndpoint}' is not an absolute URL such as http://127.0.0.1:4317");
        if (OtlpProtocol is not ("grpc" or "http/protobuf"))
            throw new InvalidOperationException($"BudgetGrains:Telemetry:OtlpProtocol '{OtlpProtocol}' is not grpc or http/protobuf");
        if (OrleansMeters is not ("light" or "all" or "none"))
            throw new InvalidOperationException($"BudgetGrains:Telemetry:OrleansMeters '{OrleansMeters}' is not light, all or none");
        if (OtlpExportInterval <= TimeSpan.Zero)
            throw new InvalidOperationException("BudgetGrains:Telemetry:OtlpExportInterval must be positive");
    }
}
