using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using BudgetGrains.Contracts.V1;
using static BudgetGrains.Contracts.V1.Admission;
using static BudgetGrains.Contracts.V1.Management;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>
/// I6 and the start-up failures of the real executable: each one line "error: ..." on stderr and exit code 1, never a
/// stack trace, and never a silo that says "ready" and then cannot do its job.
/// </summary>
public sealed class StartupFailureTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("budgetgrains-startup-").FullName;

    private string DataDir => Path.Combine(_root, "data");

    [Fact]
    public async Task ASecondSiloOnTheSameDataDirectoryRefusesNamingTheFirstWhichKeepsServing()
    {
        using var first = await ServerProcess.StartAsync(DataDir);
        var attribution = new Attribution { Tenant = Build.UniqueKey("i6") };

        // Relative path, from another working directory, with a trailing separator: the same directory all the same.
        var second = await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--data-dir", "./data/");

        var error = AssertOneErrorLine(second);
        Assert.StartsWith($"error: data directory {DataDir} is in use by another silo (pid {first.Pid}, ", error, StringComparison.Ordinal);
        Assert.Contains($"listening on {first.Address.ToString().TrimEnd('/')}", error, StringComparison.Ordinal);
        Assert.EndsWith("stop it or choose another --data-dir", error, StringComparison.Ordinal);
        Assert.DoesNotContain(second.Output, line => line.Contains("ready", StringComparison.Ordinal));

        // The first silo is untouched: it still admits.
        using (var channel = GrpcChannel.ForAddress(first.Address))
        {
            var reserve = await new AdmissionClient(channel).ReserveAsync(Build.Reserve(attribution, 100));
            Assert.Equal(Decision.Admitted, reserve.Decision);
        }
        Assert.False(first.HasExited);

        // kill -9 leaves no lock behind: the OS drops it with the process, and a new silo starts on the directory.
        first.KillHard();
        using var third = await ServerProcess.StartAsync(DataDir);
        using var channel3 = GrpcChannel.ForAddress(third.Address);
        var status = await new ManagementClient(channel3).StatusAsync("tenant/" + attribution.Tenant);
        Assert.Equal(100, status.HeldNanos);
        Assert.Contains($"pid={third.Pid}", await File.ReadAllTextAsync(Path.Combine(DataDir, "silo.holder")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InOneProcessTooASecondSiloOnTheDirectoryIsRefusedUntilTheFirstIsDisposed()
    {
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = DataDir };
        var first = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        var refused = await Assert.ThrowsAsync<DataDirectoryInUseException>(() => Silo.StartAsync(options));
        Assert.Contains($"(pid {Environment.ProcessId}, ", refused.Message, StringComparison.Ordinal);

        await first.DisposeAsync();
        Assert.False(File.Exists(Path.Combine(DataDir, DataDirectoryLock.HolderFileName)));
        await using var second = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
    }

    [Theory]
    [InlineData("--listen")]
    [InlineData("--http")]
    public async Task APortInUseIsOneLineNamingTheAddress(string flag)
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var address = $"127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";
        string[] args = flag == "--listen"
            ? ["--listen", address, "--http", "none", "--data-dir", DataDir]
            : ["--listen", "127.0.0.1:0", "--http", address, "--data-dir", DataDir];

        var exit = await ServerProcess.RunToExitAsync(_root, args);

        var error = AssertOneErrorLine(exit);
        Assert.Contains($"{address}: address already in use", error, StringComparison.Ordinal);
        Assert.Contains("--listen 127.0.0.1:PORT", error, StringComparison.Ordinal);
        AssertNoStackTrace(exit);

        // The failed start released the data directory.
        using var silo = await ServerProcess.StartAsync(DataDir);
    }

    [Fact]
    public async Task AMalformedSettingIsOneLineNamingTheOptionAndTheValue()
    {
        var exit = await ServerProcess.RunToExitAsync(_root, "--max-message-bytes", "abc", "--data-dir", DataDir);
        Assert.Equal("error: option --max-message-bytes (BudgetGrains:MaxMessageBytes) has the value 'abc', which is not a whole number",
            AssertOneErrorLine(exit));
        AssertNoStackTrace(exit);

        var generic = await ServerProcess.RunToExitAsync(_root, "--BudgetGrains:StatisticsInterval=soon", "--data-dir", DataDir);
        Assert.Equal("error: option --BudgetGrains:StatisticsInterval has the value 'soon', which is not a duration such as 00:00:05",
            AssertOneErrorLine(generic));
    }

    [Fact]
    public async Task AMalformedEnvironmentVariableIsNamedAsOne()
    {
        var server = Path.Combine(AppContext.BaseDirectory, "BudgetGrains.Server.dll");
        var start = new ProcessStartInfo("dotnet", [server, "--data-dir", DataDir])
        {
            RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = _root,
        };
        start.Environment["BudgetGrains__MaxMessageBytes"] = "4MB";
        using var process = Process.Start(start)!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(1, process.ExitCode);
        Assert.Equal("error: environment variable BudgetGrains__MaxMessageBytes has the value '4MB', which is not a whole number", errors.Trim());
    }

    [Theory]
    [InlineData(new[] { "--lisen", "127.0.0.1:0" }, "error: unknown option --lisen (did you mean --listen?); the options are --listen, --http, --data-dir, --storage, --postgres, --cluster, --cluster-id, --silo-port, --silo-address, --gateway-port, --membership, --grain-storage, --azure-storage, --kubernetes, --tls-cert, --tls-key, --tls-password, --tls-client-ca, --auth, --admin-key-file, --max-message-bytes and --BudgetGrains:<Setting>=<value> (see --help)")]
    [InlineData(new[] { "--BudgetGrains:Lisen=127.0.0.1:0" }, "error: unknown setting BudgetGrains:Lisen (did you mean BudgetGrains:Listen?); see docs/configuration.md for the settings")]
    [InlineData(new[] { "--data-dir" }, "error: option --data-dir needs a value, e.g. --data-dir DIR (see --help)")]
    [InlineData(new[] { "listen" }, "error: unexpected argument 'listen'; options start with -- (see --help)")]
    public async Task UnknownOptionsAndSettingsAreRefusedNotIgnored(string[] args, string expected)
    {
        var exit = await ServerProcess.RunToExitAsync(_root, args);
        Assert.Equal(expected, AssertOneErrorLine(exit));
        Assert.Empty(exit.Output);
    }

    /// <summary>The Azure profile and Kubernetes hosting settings (docs/decisions/0031, 0032): a bad combination stops the
    /// silo before it opens anything, with one line naming the setting.</summary>
    [Theory]
    [InlineData(new[] { "--membership", "zookeeper" }, "error: BudgetGrains:Membership 'zookeeper' is not a membership store: use postgres (the default) or azure")]
    [InlineData(new[] { "--membership", "azure" }, "error: BudgetGrains:Membership azure needs BudgetGrains:Cluster true: a single silo keeps no membership table")]
    [InlineData(new[] { "--cluster", "true", "--membership", "azure" }, "error: BudgetGrains:Membership azure needs BudgetGrains:AzureStorageConnectionString: give one with --azure-storage 'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…' (or BudgetGrains__AzureStorageConnectionString)")]
    [InlineData(new[] { "--grain-storage", "azure-files" }, "error: BudgetGrains:GrainStorage 'azure-files' is not a grain storage: use journal (the default), azure-blob or azure-table")]
    [InlineData(new[] { "--grain-storage", "azure-blob", "--azure-storage", "not a connection string" }, "error: BudgetGrains:AzureStorageConnectionString is not an Azure Storage connection string: ")]
    [InlineData(new[] { "--kubernetes", "true" }, "error: BudgetGrains:Kubernetes needs BudgetGrains:Cluster true: Kubernetes hosting tracks the pods of a cluster")]
    [InlineData(new[] { "--kubernetes", "true", "--cluster", "true" }, "error: BudgetGrains:Kubernetes needs a fixed BudgetGrains:SiloPort, the pod's silo container port (e.g. 11111)")]
    [InlineData(new[] { "--kubernetes", "true", "--cluster", "true", "--silo-port", "11111" }, "error: BudgetGrains:Kubernetes is true but the environment variable POD_NAME is not set: give it from the pod's downward API, as deploy/kubernetes/budgetgrains.yaml does")]
    public async Task AzureAndKubernetesSettingsThatCannotWorkAreOneLineNamingTheSetting(string[] args, string expected)
    {
        var exit = await ServerProcess.RunToExitAsync(_root, ["--listen", "127.0.0.1:0", "--data-dir", DataDir, .. args]);
        Assert.StartsWith(expected, AssertOneErrorLine(exit), StringComparison.Ordinal);
        AssertNoStackTrace(exit);
        Assert.False(Directory.Exists(DataDir), "the silo opened its data directory before refusing");
    }

    [Fact]
    public async Task HelpListsEveryFlag()
    {
        var exit = await ServerProcess.RunToExitAsync(_root, "--help");
        Assert.Equal(0, exit.ExitCode);
        Assert.Empty(exit.Errors);
        foreach (var flag in new[] { "--listen", "--http", "--data-dir", "--tls-cert", "--tls-password", "--max-message-bytes", "--BudgetGrains:", "--help" })
            Assert.Contains(exit.Output, line => line.Contains(flag, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADataDirectoryThatIsAFileIsOneLineNamingIt()
    {
        var file = Path.Combine(_root, "not-a-directory");
        await File.WriteAllTextAsync(file, "x");
        var exit = await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--data-dir", file);
        Assert.Equal($"error: data directory {file} is a file, not a directory; choose another --data-dir", AssertOneErrorLine(exit));
    }

    [Fact]
    public async Task ADatabaseThatIsNotOneIsOneLineNamingIt()
    {
        Directory.CreateDirectory(DataDir);
        var database = Path.Combine(DataDir, "budgetgrains.db");
        await File.WriteAllTextAsync(database, "not a database, but long enough to be read as a header by SQLite, which wants 100 bytes or so at least.");
        var exit = await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--data-dir", DataDir);
        Assert.Equal($"error: cannot open database {database}: SQLite Error 26: 'file is not a database'.", AssertOneErrorLine(exit));
    }

    /// <summary>
    /// The tests run as root, which chmod does not stop; the immutable attribute (chattr +i) stops root too, as a
    /// read-only mount would, so the silo meets a database it can open but not write. Skipped where chattr is missing
    /// or the file system has no such attribute.
    /// </summary>
    [SkippableFact]
    public async Task AReadOnlyDatabaseIsRefusedAtStartNotAfterReady()
    {
        using (var created = await ServerProcess.StartAsync(DataDir))
            created.KillHard();
        var database = Path.Combine(DataDir, "budgetgrains.db");
        Skip.IfNot(Chattr("+i", database), "chattr +i is not available here");
        try
        {
            var exit = await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--data-dir", DataDir);
            var error = AssertOneErrorLine(exit);
            Assert.StartsWith($"error: database {database} is read-only", error, StringComparison.Ordinal);
            Assert.DoesNotContain(exit.Output, line => line.Contains("ready", StringComparison.Ordinal));
        }
        finally
        {
            Chattr("-i", database);
        }
        using var writable = await ServerProcess.StartAsync(DataDir);
    }

    private static bool Chattr(string change, string path)
    {
        try
        {
            using var chattr = Process.Start(new ProcessStartInfo("chattr", [change, path]) { RedirectStandardError = true })!;
            chattr.WaitForExit();
            return chattr.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static string AssertOneErrorLine(ServerExit exit)
    {
        Assert.Equal(1, exit.ExitCode);
        var error = Assert.Single(exit.Errors);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        return error;
    }

    private static void AssertNoStackTrace(ServerExit exit) =>
        Assert.DoesNotContain(exit.Output.Concat(exit.Errors), line => line.StartsWith("at ", StringComparison.Ordinal) || line.Contains("Exception", StringComparison.Ordinal));

    public void Dispose()
    {
        Chattr("-i", Path.Combine(DataDir, "budgetgrains.db"));
        Directory.Delete(_root, recursive: true);
    }
}
