using System.Diagnostics;

namespace BudgetGrains.Server.Tests;

/// <summary>The silo executable run to its exit, for start-up failures: exit code and what it printed.</summary>
internal sealed record ServerExit(int ExitCode, IReadOnlyList<string> Output, IReadOnlyList<string> Errors);

internal sealed partial class ServerProcess
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The running silo's process id.</summary>
    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Runs the executable with exactly these arguments, in <paramref name="workingDirectory"/>, until it exits;
    /// a silo that starts instead (says "ready") is killed and the test fails.</summary>
    public static async Task<ServerExit> RunToExitAsync(string workingDirectory, params string[] args)
    {
        var server = Path.Combine(AppContext.BaseDirectory, "BudgetGrains.Server.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        foreach (var arg in (string[])[server, .. args]) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new InvalidOperationException($"the silo did not exit within {ExitTimeout}:\n{await output}\n{await errors}");
        }
        return new ServerExit(process.ExitCode, Lines(await output), Lines(await errors));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
