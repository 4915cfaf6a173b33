using System.Net;
using BudgetGrains.Server.Auth;
using BudgetGrains.Server.Services;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Hosting;

/// <summary>Wiring of Grpc.AspNetCore into the silo's Kestrel host: the budget.v1 services, health and reflection.</summary>
internal static class GrpcHosting
{
    /// <summary>The names a health check may ask about: the whole silo ("") and each budget.v1 service.</summary>
    private static readonly string[] HealthNames = ["", V1.Admission.Descriptor.FullName, V1.Management.Descriptor.FullName, V1.Alerts.Descriptor.FullName];

    /// <summary>
    /// Listens on <paramref name="endpoint"/> for gRPC. Without a certificate the endpoint speaks cleartext HTTP/2 only
    /// (h2c with prior knowledge, which is what gRPC clients use); with one it is TLS, negotiating HTTP/2 or HTTP/1.1
    /// through ALPN so that REST and browser clients can share the port.
    /// </summary>
    public static void ListenGrpc(this KestrelServerOptions kestrel, IPEndPoint endpoint, TlsSettings? tls)
    {
        kestrel.Listen(endpoint, listen =>
        {
            if (tls is null)
            {
                listen.Protocols = HttpProtocols.Http2;
            }
            else
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                tls.Apply(listen);
            }
        });
    }

    /// <summary>
    /// gRPC with the silo's message size limit both ways, server reflection (grpcurl list), and grpc.health.v1.Health
    /// answering from <paramref name="readiness"/> for the silo and for each of its services.
    /// </summary>
    public static void AddBudgetGrpc(this IServiceCollection services, int maxMessageBytes, SiloReadiness readiness)
    {
        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = maxMessageBytes;
            grpc.MaxSendMessageSize = maxMessageBytes;
            grpc.Interceptors.Add<Services.SiloUnavailableInterceptor>();
            // Every rpc, health and reflection included, passes the access rules (open ones pass at once).
            grpc.Interceptors.Add<AccessInterceptor>();
        });
        services.AddGrpcReflection();
        services.AddHealthChecks().AddCheck(SiloReadiness.Name, readiness);
        services.AddGrpcHealthChecks(health =>
        {
            health.Services.Clear();
            foreach (var name in HealthNames) health.Services.Map(name, _ => true);
        });
    }

    /// <summary>
    /// Sends a request that routing matched to a gRPC method straight to it, past the silo's HTTP middlewares (dashboard
    /// access, observability routes, dashboard, REST mirror). Each of those serves only its own paths, none of which is a
    /// gRPC method's path, so each would pass the call on unchanged; walking them cost 2–4% of a Check's CPU. What selects
    /// the short cut is the endpoint routing chose (by path), never a header: a request for a dashboard or REST path
    /// still meets its access check, whatever content type it claims. gRPC calls are authenticated by the interceptors.
    /// Call first, before the other middlewares.
    /// </summary>
    public static void UseGrpcShortCut(this IApplicationBuilder app) => app.Use(next => context =>
        context.GetEndpoint() is { RequestDelegate: { } grpcMethod } endpoint && endpoint.Metadata.GetMetadata<Grpc.AspNetCore.Server.GrpcMethodMetadata>() is not null
            ? grpcMethod(context)
            : next(context));

    public static void MapBudgetGrpc(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<AdmissionService>();
        endpoints.MapGrpcService<ManagementService>();
        endpoints.MapGrpcService<AlertsService>();
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapGrpcReflectionService();
    }
}

/// <summary>
/// Whether the silo accepts calls: unhealthy (health NOT_SERVING) until it is ready, healthy from then on, unhealthy
/// again from the moment it begins to stop, so that a load balancer stops sending before the listener closes.
/// </summary>
internal sealed class SiloReadiness : IHealthCheck
{
    public const string Name = "silo";

    private volatile string? _notReady = "the silo is starting";

    public void Ready() => _notReady = null;

    public void Stopping() => _notReady = "the silo is stopping";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_notReady is { } reason ? HealthCheckResult.Unhealthy(reason) : HealthCheckResult.Healthy("accepting calls"));
}
