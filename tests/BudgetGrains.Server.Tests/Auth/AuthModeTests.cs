using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Auth;
using BudgetGrains.Server.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using static BudgetGrains.Server.Tests.Auth.AuthFixture;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>The modes on the real executable: off by default on loopback, required beyond it, and a silo that would listen
/// beyond loopback with auth off, or require keys without any admin key, refuses to start with one error line.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AuthModeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("budgetgrains-authmode-").FullName;

    private string DataDir => Path.Combine(_root, "data");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string OneErrorLine(ServerExit exit)
    {
        Assert.Equal(1, exit.ExitCode);
        var line = Assert.Single(exit.Errors);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        return line;
    }

    [Fact]
    public async Task AuthOffBeyondLoopbackRefusesToStartSayingWhy()
    {
        var exit = await ServerProcess.RunToExitAsync(_root, "--listen", "0.0.0.0:0", "--http", "none", "--data-dir", DataDir, "--auth", "off");

        var error = OneErrorLine(exit);
        Assert.Contains("auth is off but the silo would listen on 0.0.0.0:0, beyond loopback", error, StringComparison.Ordinal);
        Assert.Contains("--auth required with --admin-key-file", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthOffWithTheRestEndpointBeyondLoopbackIsRefusedToo()
    {
        var exit = await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--http", "0.0.0.0:0", "--data-dir", DataDir, "--auth", "off");

        Assert.Contains("0.0.0.0:0, beyond loopback", OneErrorLine(exit), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeyondLoopbackAuthIsRequiredByDefaultAndWithoutAnAdminKeyTheSiloRefuses()
    {
        var exit = await ServerProcess.RunToExitAsync(_root, "--listen", "0.0.0.0:0", "--data-dir", DataDir);

        Assert.Contains("auth is required but there is no admin key", OneErrorLine(exit), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownModeIsRefused()
    {
        var exit = await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--data-dir", DataDir, "--auth", "maybe");

        Assert.Contains("BudgetGrains:Auth:Mode 'maybe' is not one of required, off", OneErrorLine(exit), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAdminKeyFileReadableByOthersIsRefused()
    {
        var file = Path.Combine(_root, "admin.key");
        await File.WriteAllTextAsync(file, new string('k', 40));
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var exit = await ServerProcess.RunToExitAsync(_root, "--listen", "127.0.0.1:0", "--data-dir", DataDir, "--admin-key-file", file);

        Assert.Contains("can be read or written by other users; chmod 600 it", OneErrorLine(exit), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeyondLoopbackWithAnAdminKeyFileTheSiloMakesTheKeyAndRequiresIt()
    {
        var file = Path.Combine(_root, "secrets", "admin.key");
        using var server = await ServerProcess.StartAsync(DataDir, "--listen", "0.0.0.0:0", "--http", "none", "--admin-key-file", file);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var admin = (await File.ReadAllTextAsync(file)).Trim();
        using var channel = GrpcChannel.ForAddress(new UriBuilder(server.Address) { Host = "127.0.0.1" }.Uri);
        var management = new ManagementClient(channel);
        var refused = await Assert.ThrowsAsync<RpcException>(() => management.ListBudgetsAsync(new ListBudgetsRequest(), As(null)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.NotNull(await management.ListBudgetsAsync(new ListBudgetsRequest(), As(admin)));
    }

    [Fact]
    public async Task OnLoopbackAuthIsOffByDefaultAndAnExistingKeyFileIsAdmittedAsAdmin()
    {
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = DataDir };
        await using (var open = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning)))
        {
            Assert.False(open.AuthRequired);
        }

        var file = Path.Combine(_root, "mine.key");
        var secret = "my-own-admin-key-" + Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(file, secret + "\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        options.Auth.Mode = "required";
        options.Auth.AdminKeyFile = file;
        await using var silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        using var channel = GrpcChannel.ForAddress(silo.Address);
        var created = await new ManagementClient(channel).CreateApiKeyAsync(new CreateApiKeyRequest { Role = "viewer" }, As(secret));
        Assert.Equal("bootstrap", created.ApiKey.CreatedBy);
        Assert.Equal(secret + "\n", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public void TheProductionExampleListensBeyondLoopbackWithKeysRequired()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "BudgetGrains.sln"))) root = root.Parent!;
        File.Copy(Path.Combine(root.FullName, "deploy", "appsettings.production.example.json"), Path.Combine(_root, "appsettings.json"));

        var command = CommandLine.Parse([], _root);

        Assert.Null(command.Error);
        Assert.Equal("0.0.0.0:5080", command.Options!.Listen);
        Assert.Equal(("required", "/var/lib/budgetgrains/admin.key"), (command.Options.Auth.Mode, command.Options.Auth.AdminKeyFile));
        Assert.Contains("beyond loopback", Assert.Throws<InvalidOperationException>(() =>
        {
            command.Options.Auth.Mode = "off";
            AuthSetup.Resolve(command.Options);
        }).Message, StringComparison.Ordinal);
    }
}
