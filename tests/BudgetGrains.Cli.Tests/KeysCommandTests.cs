using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Cli.Tests;

/// <summary>A silo with API keys required, for budgetctl keys, audit, --api-key, BUDGETGRAINS_API_KEY and --ca-file.</summary>
public sealed class AuthSiloFixture : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetctl-auth-" + Guid.NewGuid().ToString("N"));

    public Silo Silo { get; private set; } = null!;

    public string AdminKey { get; private set; } = "";

    public string CertificateFile => Path.Combine(_dataDir, "silo.pem");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataDir);
        // A self-signed certificate for 127.0.0.1, in PEM: budgetctl trusts it through --ca-file.
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(CertificateFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_dataDir, "silo.key"), key.ExportPkcs8PrivateKeyPem());

        var options = new SiloOptions
        {
            Listen = "127.0.0.1:0", DataDir = _dataDir, TlsCertificatePath = CertificateFile, TlsKeyPath = Path.Combine(_dataDir, "silo.key"),
        };
        options.Auth.Mode = "required";
        options.Auth.AdminKeyFile = Path.Combine(_dataDir, "admin.key");
        Silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        AdminKey = (await File.ReadAllTextAsync(options.Auth.AdminKeyFile)).Trim();
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    /// <summary>budgetctl against this silo, trusting its certificate.</summary>
    public Task<CliRun> RunAsync(params string[] args) =>
        SiloFixture.RunAgainstAsync(Silo.Address.ToString(), [.. args, "--ca-file", CertificateFile]);
}

public sealed class KeysCommandTests(AuthSiloFixture silo) : IClassFixture<AuthSiloFixture>
{
    [Fact]
    public async Task KeysCreateJsonPrintsOneObjectWhoseKeyIsTheSecretAndTheKeyWorksAsItsRoleAllows()
    {
        var tenant = SiloFixture.UniqueKey("acme");

        var created = await silo.RunAsync("keys", "create", "--role", "agent", "--tenant", tenant, "--json", "--api-key", silo.AdminKey);

        Assert.True(created.ExitCode == 0, created.ToString());
        var json = Assert.Single(created.JsonLines());
        var secret = json.GetProperty("key").GetString()!;
        Assert.StartsWith("bgk_", secret, StringComparison.Ordinal);
        Assert.Equal(("agent", tenant), (json.GetProperty("apiKey").GetProperty("role").GetString(), json.GetProperty("apiKey").GetProperty("tenant").GetString()));

        var reserve = await silo.RunAsync("reserve", "--tenant", tenant, "--estimate", "0.01", "--api-key", secret);
        var otherTenant = await silo.RunAsync("reserve", "--tenant", tenant + "x", "--estimate", "0.01", "--api-key", secret);
        var management = await silo.RunAsync("budgets", "get", "tenant/" + tenant, "--api-key", secret);

        Assert.True(reserve.ExitCode == 0 && reserve.Stdout.Contains("ADMITTED", StringComparison.Ordinal), reserve.ToString());
        Assert.Equal(1, otherTenant.ExitCode);
        Assert.Contains("PermissionDenied", otherTenant.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, management.ExitCode);
        Assert.Contains("PermissionDenied", management.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListShowsNoSecretRevokeEndsTheKeyAndAuditShowsBoth()
    {
        var created = await silo.RunAsync("keys", "create", "--role", "viewer", "--name", "dash", "--json", "--api-key", silo.AdminKey);
        var json = Assert.Single(created.JsonLines());
        var (id, secret) = (json.GetProperty("apiKey").GetProperty("id").GetString()!, json.GetProperty("key").GetString()!);

        var list = await silo.RunAsync("keys", "list", "--api-key", silo.AdminKey);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(id, list.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, list.Stdout, StringComparison.Ordinal);

        var read = await silo.RunAsync("budgets", "list", "--api-key", secret);
        Assert.True(read.ExitCode == 0, read.ToString());
        var revoke = await silo.RunAsync("keys", "revoke", id, "--api-key", silo.AdminKey);
        Assert.True(revoke.ExitCode == 0, revoke.ToString());
        var after = await silo.RunAsync("budgets", "list", "--api-key", secret);
        Assert.Equal(1, after.ExitCode);
        Assert.Contains("Unauthenticated", after.Stderr, StringComparison.Ordinal);

        var audit = await silo.RunAsync("audit", "--target", id, "--json", "--api-key", silo.AdminKey);
        Assert.True(audit.ExitCode == 0, audit.ToString());
        Assert.Equal(["RevokeApiKey", "CreateApiKey"], audit.JsonLines().Select(e => e.GetProperty("rpc").GetString()));
        var table = await silo.RunAsync("audit", "--api-key", silo.AdminKey);
        Assert.Contains("RevokeApiKey", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAKeyBudgetctlSaysHowToGiveOneAndTheEnvironmentVariableIsOne()
    {
        var without = await silo.RunAsync("budgets", "list");
        Assert.Equal(1, without.ExitCode);
        Assert.Contains("--api-key or BUDGETGRAINS_API_KEY", without.Stderr, StringComparison.Ordinal);

        Environment.SetEnvironmentVariable("BUDGETGRAINS_API_KEY", silo.AdminKey);
        try
        {
            var with = await silo.RunAsync("budgets", "list");
            Assert.True(with.ExitCode == 0, with.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("BUDGETGRAINS_API_KEY", null);
        }
    }

    [Fact]
    public async Task WithoutCaFileTheSilosSelfSignedCertificateIsNotTrusted()
    {
        var untrusted = await SiloFixture.RunAgainstAsync(silo.Silo.Address.ToString(), "budgets", "list", "--api-key", silo.AdminKey);
        var missing = await SiloFixture.RunAgainstAsync(silo.Silo.Address.ToString(), "budgets", "list", "--api-key", silo.AdminKey, "--ca-file", "/nonexistent/ca.pem");

        Assert.Equal(1, untrusted.ExitCode);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("cannot read --ca-file", missing.Stderr, StringComparison.Ordinal);
    }
}
