using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace BudgetGrains.Grpc;

/// <summary>Kestrel endpoint configuration for gRPC.</summary>
public static class GrpcKestrelExtensions
{
    /// <summary>
    /// Listens on <paramref name="endpoint"/> for gRPC. Without a certificate the endpoint speaks cleartext HTTP/2 only
    /// (h2c with prior knowledge, which is what gRPC clients use); with one it is TLS, negotiating HTTP/2 or HTTP/1.1
    /// through ALPN so that REST and browser clients can share the port.
    /// </summary>
    public static KestrelServerOptions ListenGrpc(this KestrelServerOptions options, IPEndPoint endpoint, X509Certificate2? tlsCertificate = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endpoint);
        options.Listen(endpoint, listen =>
        {
            if (tlsCertificate is null)
            {
                listen.Protocols = HttpProtocols.Http2;
            }
            else
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(tlsCertificate);
            }
        });
        return options;
    }
}
