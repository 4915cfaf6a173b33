using System.Net;
using System.Net.Sockets;
using BudgetGrains.Grains;
using Orleans.Configuration;
using Orleans.Hosting;

namespace BudgetGrains.Server.Hosting;

/// <summary>The Orleans side of a silo: localhost clustering (the embedded default is one silo), the grains' collection
/// ages and the limits Orleans enforces for the project (I5).</summary>
internal static class OrleansHosting
{
    /// <summary>Requests queued on one activation; one more fails with Orleans' LimitExceededException (RESOURCE_EXHAUSTED).</summary>
    public const int MaxEnqueuedRequestsPerActivation = 10_000;

    /// <summary>The scope grain class, as Orleans names grain classes in <see cref="GrainCollectionOptions.ClassSpecificCollectionAge"/>.</summary>
    private const string ScopeGrainClass = "BudgetGrains.Grains.Scopes.ScopeGrain";

    public static void UseBudgetGrainsSilo(this IHostApplicationBuilder builder, SiloOptions options)
    {
        var siloPort = options.SiloPort == 0 ? FreeLoopbackPort() : options.SiloPort;
        builder.UseOrleans(silo =>
        {
            // No gateway: nothing outside this process calls the grains (clients use gRPC and REST).
            silo.UseLocalhostClustering(siloPort: siloPort, gatewayPort: 0, serviceId: "budgetgrains", clusterId: "budgetgrains-local");
            silo.Configure<GrainCollectionOptions>(collection =>
                collection.ClassSpecificCollectionAge[ScopeGrainClass] = options.ScopeIdleTimeout);
            silo.Configure<SiloMessagingOptions>(messaging =>
            {
                messaging.MaxEnqueuedRequestsSoftLimit = 0;
                messaging.MaxEnqueuedRequestsHardLimit = MaxEnqueuedRequestsPerActivation;
            });
        });
    }

    /// <summary>A port nothing listens on now. Orleans needs a concrete silo port; a single silo is reached by nobody else,
    /// so any free one does, and several silos (tests) on one machine do not collide.</summary>
    private static int FreeLoopbackPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
