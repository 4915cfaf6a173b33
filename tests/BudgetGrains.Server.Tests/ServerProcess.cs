using System.Diagnostics;
using System.Text.RegularExpressions;

namespace BudgetGrains.Server.Tests;

/// <summary>The silo executable as a separate OS process (so it can be killed with SIGKILL), on a free loopback port.</summary>
internal sealed partial class ServerProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output;

    private ServerProcess(Process process, Uri address, System.Collections.Concurrent.ConcurrentQueue<string> output) =>
        (_process, Address, _output) = (process, address, output);

    public Uri Address { get; }

    /// <summary>What the silo wrote so far (stdout and stderr), line by line.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    /// <param name="settings">More command-line settings, e.g. "--BudgetGrains:Alerts:Webhooks:0:Url=http://...".</param>
    public static async Task<ServerProcess> StartAsync(string dataDir, params string[] settings)
    {
        var server = Path.Combine(AppContext.BaseDirectory, "BudgetGrains.Server.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[server, "--listen", "127.0.0.1:0", "--data-dir", dataDir, .. settings]) start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.Enqueue(e.Data);
            if (ReadyLine().Match(e.Data) is { Success: true } m) ready.TrySetResult(new Uri(m.Groups[1].Value));
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var finished = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(StartTimeout));
        if (finished != ready.Task)
        {
            if (!process.HasExited) process.Kill();
            throw new InvalidOperationException("the silo did not start:\n" + string.Join("\n", output));
        }
        return new ServerProcess(process, await ready.Task, output);
    }

    /// <summary>kill -9: no shutdown hooks, no flush.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) KillHard();
        _process.Dispose();
    }

    [GeneratedRegex(@"ready on (http://[^ /]+)")]
    private static partial Regex ReadyLine();
}
