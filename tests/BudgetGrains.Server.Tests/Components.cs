using System.Diagnostics;

namespace BudgetGrains.Server.Tests;

/// <summary>
/// System components some tests need (python3-grpcio, ...). Missing ones skip the test with a message
/// naming the component, except under CI=true, where a missing component fails the run.
/// </summary>
internal static class Components
{
    private static readonly Lazy<string?> PythonWithGrpc = new(FindPythonWithGrpc);

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>A python3 that can import grpc and grpc_tools (Debian: python3-grpcio, python3-grpc-tools).</summary>
    public static string RequirePythonWithGrpc() =>
        PythonWithGrpc.Value ?? Missing("python3 with grpcio and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)");

    private static string Missing(string component)
    {
        if (InCi) throw new InvalidOperationException($"CI=true and a required component is missing: {component}");
        Skip.If(true, $"missing component: {component}");
        return "";
    }

    private static string? FindPythonWithGrpc()
    {
        foreach (var python in (string[])["/usr/bin/python3", "python3"])
        {
            try
            {
                var (exitCode, _) = Run(python, ["-c", "import grpc, grpc_tools"], TimeSpan.FromSeconds(30));
                if (exitCode == 0) return python;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under that name.
            }
        }
        return null;
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
