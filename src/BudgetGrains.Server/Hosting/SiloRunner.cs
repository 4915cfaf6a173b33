using System.Net.Sockets;

namespace BudgetGrains.Server.Hosting;

/// <summary>Starts a silo for the executable, turning the usual start-up mistakes into one clear line.</summary>
internal static class SiloRunner
{
    public static async Task<Silo?> StartOrExplainAsync(SiloOptions options, IConfiguration logging)
    {
        try
        {
            return await Silo.StartAsync(options, builder => Silo.ConsoleLogging(builder.AddConfiguration(logging)));
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
        {
            // Two endpoints (gRPC, HTTP): Kestrel's message names the one that is taken.
            Console.Error.WriteLine($"error: {e.Message} Choose free ports with --listen 127.0.0.1:PORT (gRPC) and --http 127.0.0.1:PORT (REST).");
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"error: cannot use data directory {Path.GetFullPath(options.DataDir)}: {e.Message}");
        }
        return null;
    }
}
