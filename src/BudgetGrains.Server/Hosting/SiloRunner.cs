using System.Net.Sockets;

namespace BudgetGrains.Server.Hosting;

/// <summary>Starts a silo for the executable, turning start-up failures into one clear "error:" line (no stack trace).</summary>
internal static class SiloRunner
{
    public static async Task<Silo?> StartOrExplainAsync(SiloOptions options, IConfiguration logging)
    {
        try
        {
            // The host logs a failed start with its stack trace ("Hosting failed to start"); this says it in one line instead.
            return await Silo.StartAsync(options, builder =>
                Silo.ConsoleLogging(builder.AddConfiguration(logging).AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical)));
        }
        catch (Exception e) when (AddressInUse(e))
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
        catch (Exception e)
        {
            // Whatever else stops the start: its message, not a crash with a stack trace.
            Console.Error.WriteLine($"error: the silo could not start: {OneLine(e)}");
        }
        return null;
    }

    /// <summary>Kestrel wraps the socket error (IOException "Failed to bind" around an inner one): look down the whole chain.</summary>
    private static bool AddressInUse(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (inner is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }) return true;
        return false;
    }

    private static string OneLine(Exception e)
    {
        var innermost = e;
        while (innermost.InnerException is not null) innermost = innermost.InnerException;
        var message = innermost == e ? $"{e.GetType().Name}: {e.Message}" : $"{e.GetType().Name}: {e.Message} ({innermost.Message})";
        return message.ReplaceLineEndings(" ");
    }
}
