using System.Net;
using BudgetGrains.Server.Auth;
using BudgetGrains.Server.Services;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Rest;

/// <summary>Wiring of the REST mirror into the silo's Kestrel host.</summary>
internal static class RestHosting
{
    /// <summary>Serves the REST mirror of the admission and management services; requests outside <c>/api/</c> pass through.</summary>
    public static IApplicationBuilder UseRestMirror(this IApplicationBuilder app, AdmissionService admission, ManagementService management,
        int maxBodyBytes, Grpc.Core.Interceptors.Interceptor access)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger<RestMirror>();
        RestService[] services =
        [
            RestService.Of(V1.Admission.Descriptor,
                binder => V1.Admission.BindService(new InterceptingBinder(binder, access), admission), AdmissionRoutes.All),
            RestService.Of(V1.Management.Descriptor,
                binder => V1.Management.BindService(new InterceptingBinder(binder, access), management), [.. ManagementRoutes.All, .. AccessRoutes.All]),
        ];
        return app.Use(next => new RestMirror(next, services, maxBodyBytes, logger).InvokeAsync);
    }

    /// <summary>
    /// The HTTP/1.1 endpoint for REST, curl and browsers, which do not speak cleartext HTTP/2 with prior knowledge as
    /// the gRPC endpoint requires. With a certificate it is HTTPS, negotiating HTTP/1.1 or HTTP/2. The returned options
    /// carry the bound port once the server has started (port 0 picks one).
    /// </summary>
    public static ListenOptions ListenHttp(this KestrelServerOptions kestrel, IPEndPoint endpoint, TlsSettings? tls)
    {
        ListenOptions? bound = null;
        kestrel.Listen(endpoint, listen =>
        {
            bound = listen;
            if (tls is null)
            {
                listen.Protocols = HttpProtocols.Http1;
            }
            else
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                tls.Apply(listen);
            }
        });
        return bound!;
    }

    /// <summary>The address clients use for an endpoint bound by <see cref="ListenHttp"/>.</summary>
    public static Uri AddressOf(ListenOptions listen, bool tls)
    {
        var endpoint = (IPEndPoint)listen.EndPoint;
        var host = endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : endpoint.Address.ToString();
        if (endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && host != "127.0.0.1") host = $"[{host}]";
        return new Uri($"{(tls ? "https" : "http")}://{host}:{endpoint.Port}/");
    }
}
