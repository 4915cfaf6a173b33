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
            Console.Error.WriteLine($"error: {options.Listen} is already in use; choose another with --listen 127.0.0.1:PORT");
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
