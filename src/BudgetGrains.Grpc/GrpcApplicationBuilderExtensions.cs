using BudgetGrains.Grpc.Internal;
using Microsoft.AspNetCore.Builder;

namespace BudgetGrains.Grpc;

/// <summary>Adds the gRPC middleware to an ASP.NET Core pipeline.</summary>
public static class GrpcApplicationBuilderExtensions
{
    /// <summary>
    /// Serves <paramref name="services"/> for every request whose content-type is <c>application/grpc</c> (or <c>+suffix</c>);
    /// other requests go to the rest of the pipeline. Lookup is one dictionary hit on the request path, without endpoint routing.
    /// </summary>
    /// <exception cref="ArgumentException">The same service is given twice.</exception>
    public static IApplicationBuilder UseGrpcServices(this IApplicationBuilder app, GrpcServerOptions options, params GrpcService[] services)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxReceiveMessageBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxSendMessageBytes);

        var methods = new Dictionary<string, ServerMethod>(StringComparer.Ordinal);
        var serviceNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            ArgumentNullException.ThrowIfNull(service);
            if (!serviceNames.Add(service.Descriptor.FullName))
            {
                throw new ArgumentException($"Service {service.Descriptor.FullName} is given more than once.", nameof(services));
            }

            foreach (var pair in service.Methods)
            {
                methods.Add(pair.Key, pair.Value);
            }
        }

        return app.Use(next => new GrpcMiddleware(next, options, methods, serviceNames).InvokeAsync);
    }
}
