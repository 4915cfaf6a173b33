using System.Diagnostics;
using Xunit;

namespace BudgetGrains.TestSupport;

/// <summary>
/// System components the example tests need (python3-grpcio, node, the Node example's node_modules). Missing ones skip
/// the test with a message naming the component, except under CI=true, where a missing component fails the run.
/// </summary>
public static class Components
{
    private static readonly Lazy<string?> PythonWithGrpc = new(() => FindWorking(["/usr/bin/python3", "python3"], ["-c", "import grpc, grpc_tools"]));
    private static readonly Lazy<string?> Node = new(() => FindWorking(["node", "/usr/bin/node"], ["--version"]));

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The repository root (where protos/ and examples/ are), found above the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>A python3 that can import grpc and grpc_tools (Debian: python3-grpcio, python3-grpc-tools).</summary>
    public static string RequirePythonWithGrpc() =>
        PythonWithGrpc.Value ?? Missing("python3 with grpcio and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)");

    /// <summary>node, and the Node example's dependencies installed (npm ci in examples/node).</summary>
    public static string RequireNodeWithExampleDependencies()
    {
        var node = RequireNode();
        if (!Directory.Exists(Path.Combine(RepositoryRoot, "examples", "node", "node_modules", "@grpc", "grpc-js")))
        {
            return Missing("examples/node/node_modules (run: cd examples/node && npm ci)");
        }
        return node;
    }

    /// <summary>node (Node.js 18 or later).</summary>
    public static string RequireNode() => Node.Value ?? Missing("node (Node.js 18 or later)");

    /// <summary>A 127.0.0.1 port nothing listens on now.</summary>
    public static int FreeLoopbackPort() => FreeLoopbackPorts(1)[0];

    /// <summary><paramref name="count"/> different 127.0.0.1 ports nothing listens on now: all are held open until all
    /// are chosen, since ports asked for one after another may come back the same (seen: Azurite's queue and table).</summary>
    public static int[] FreeLoopbackPorts(int count)
    {
        var listeners = new System.Net.Sockets.TcpListener[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                listeners[i] = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
                listeners[i].Start();
            }
            return [.. listeners.Select(l => ((System.Net.IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners) listener?.Stop();
        }
    }

    internal static string Missing(string component)
    {
        if (InCi) throw new InvalidOperationException($"CI=true and a required component is missing: {component}");
        Skip.If(true, $"missing component: {component}");
        return "";
    }

    private static string? FindWorking(string[] candidates, string[] probe)
    {
        foreach (var program in candidates)
        {
            try
            {
                var (exitCode, _) = Run(program, probe, TimeSpan.FromSeconds(30));
                if (exitCode == 0) return program;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under that name.
            }
        }
        return null;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "protos", "budget", "v1")) && Directory.Exists(Path.Combine(dir.FullName, "examples"))) return dir.FullName;
        throw new DirectoryNotFoundException("protos/budget/v1 and examples/ not found above " + AppContext.BaseDirectory);
    }

    public static (int ExitCode, string Output) Run(string program, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within {timeout}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
