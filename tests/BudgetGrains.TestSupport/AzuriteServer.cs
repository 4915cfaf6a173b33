using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BudgetGrains.TestSupport;

/// <summary>
/// A throw-away Azurite (the Azure Storage emulator, npm <c>azurite</c> installed by <c>npm ci</c> in tests/azurite) for a
/// test run: node runs it on free 127.0.0.1 ports for blobs, queues and tables, its data in a temporary directory; dispose
/// kills that node process by its pid and deletes the directory. Without node or the installed package the test skips with
/// a message naming the component, except under CI=true, where it fails.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>Azurite's one account and its published key (the emulator's, documented by Microsoft; no secret).</summary>
    private const string Account = "devstoreaccount1";
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly string _directory;
    private int _disposed;

    private AzuriteServer(Process process, string directory, int blobPort, int tablePort) =>
        (_process, _directory, BlobPort, TablePort) = (process, directory, blobPort, tablePort);

    public int BlobPort { get; }

    public int TablePort { get; }

    /// <summary>The node process running Azurite.</summary>
    public int Pid => _process.Id;

    /// <summary>A connection string for the emulator's account on these ports.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{Account};TableEndpoint=http://127.0.0.1:{TablePort}/{Account};";

    /// <summary>tests/azurite/node_modules/azurite's entry point, or skips the test (fails it under CI=true).</summary>
    public static (string Node, string Script) RequireInstalled()
    {
        var script = Path.Combine(Components.RepositoryRoot, "tests", "azurite", "node_modules", "azurite", "dist", "src", "azurite.js");
        var node = Components.RequireNode();
        if (!File.Exists(script)) return (node, Components.Missing("tests/azurite/node_modules/azurite (run: cd tests/azurite && npm ci)"));
        return (node, script);
    }

    public static async Task<AzuriteServer> StartAsync()
    {
        var (node, script) = RequireInstalled();
        var directory = Path.Combine(Path.GetTempPath(), "budgetgrains-azurite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var ports = Components.FreeLoopbackPorts(3);
        var (blob, queue, table) = (ports[0], ports[1], ports[2]);
        var start = new ProcessStartInfo(node) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[script, "--silent", "--skipApiVersionCheck", "--location", directory,
            "--blobHost", "127.0.0.1", "--blobPort", Port(blob), "--queueHost", "127.0.0.1", "--queuePort", Port(queue),
            "--tableHost", "127.0.0.1", "--tablePort", Port(table)])
            start.ArgumentList.Add(arg);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new AzuriteServer(process, directory, blob, table);
        var deadline = DateTime.UtcNow + StartTimeout;
        while (!(await AcceptsAsync(blob) && await AcceptsAsync(table)))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException("Azurite did not start:\n" + string.Join("\n", output));
            }
            await Task.Delay(100);
        }
        return server;
    }

    /// <summary>Kills the node process (by its pid) and deletes the data directory.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return ValueTask.CompletedTask;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }
            _process.Dispose();
        }
        finally
        {
            if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        }
        return ValueTask.CompletedTask;
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
