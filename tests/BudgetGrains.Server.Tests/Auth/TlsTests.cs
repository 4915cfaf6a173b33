using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using static BudgetGrains.Server.Tests.Auth.AuthFixture;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>Certificates the test makes: a CA, the silo's certificate it issued, and client certificates.</summary>
internal sealed class TestCertificates : IDisposable
{
    public TestCertificates(string directory)
    {
        Directory.CreateDirectory(directory);
        Ca = MakeCa("CN=BudgetGrains test CA");
        OtherCa = MakeCa("CN=Somebody else's CA");
        using var serverKey = RSA.Create(2048);
        var server = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        server.CertificateExtensions.Add(san.Build());
        server.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var serverCertificate = server.Create(Ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
        CertificateFile = Path.Combine(directory, "silo.pem");
        KeyFile = Path.Combine(directory, "silo.key");
        CaFile = Path.Combine(directory, "ca.pem");
        File.WriteAllText(CertificateFile, serverCertificate.ExportCertificatePem());
        File.WriteAllText(KeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());
        Client = MakeClient(Ca);
        Stranger = MakeClient(OtherCa);
    }

    public X509Certificate2 Ca { get; }
    public X509Certificate2 OtherCa { get; }
    public X509Certificate2 Client { get; }
    public X509Certificate2 Stranger { get; }
    public string CertificateFile { get; }
    public string KeyFile { get; }
    public string CaFile { get; }

    /// <summary>A channel that trusts the test CA for the server, presenting <paramref name="clientCertificate"/> if given.</summary>
    public GrpcChannel Channel(Uri address, X509Certificate2? clientCertificate = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(Ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is not null && chain.Build(new X509Certificate2(certificate));
        };
        if (clientCertificate is not null) handler.SslOptions.ClientCertificates = [clientCertificate];
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
    }

    public void Dispose()
    {
        Ca.Dispose();
        OtherCa.Dispose();
        Client.Dispose();
        Stranger.Dispose();
    }

    private static X509Certificate2 MakeCa(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 MakeClient(X509Certificate2 ca)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=agent", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var certificate = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
        // With its private key, exported and loaded again so that SslStream can use it on every platform.
        using var withKey = certificate.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12, "pw"), "pw");
    }
}

/// <summary>TLS from PEM files, with keys required, and mTLS: a client certificate issued by the configured CA.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("budgetgrains-tls-").FullName;
    private readonly TestCertificates _certificates;

    public TlsTests() => _certificates = new TestCertificates(Path.Combine(_root, "certs"));

    public void Dispose()
    {
        _certificates.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private SiloOptions Options(bool mutual)
    {
        var options = new SiloOptions
        {
            Listen = "127.0.0.1:0", DataDir = Path.Combine(_root, "data"),
            TlsCertificatePath = _certificates.CertificateFile, TlsKeyPath = _certificates.KeyFile,
            TlsClientCaPath = mutual ? _certificates.CaFile : null,
        };
        options.Auth.Mode = "required";
        options.Auth.AdminKeyFile = Path.Combine(_root, "admin.key");
        return options;
    }

    [Fact]
    public async Task PemCertificateServesGrpcAndRestOverTlsAndKeysStillApply()
    {
        await using var silo = await Silo.StartAsync(Options(mutual: false), logging => logging.SetMinimumLevel(LogLevel.Warning));
        var admin = (await File.ReadAllTextAsync(Path.Combine(_root, "admin.key"))).Trim();
        Assert.Equal(("https", "https"), (silo.Address.Scheme, silo.HttpAddress!.Scheme));

        using var channel = _certificates.Channel(silo.Address);
        var management = new ManagementClient(channel);
        Assert.NotNull(await management.ListBudgetsAsync(new ListBudgetsRequest(), As(admin)));
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => management.ListBudgetsAsync(new ListBudgetsRequest(), As(null)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
    }

    [Fact]
    public async Task TheDashboardSignInCookieIsSecureOverTls()
    {
        await using var silo = await Silo.StartAsync(Options(mutual: false), logging => logging.SetMinimumLevel(LogLevel.Warning));
        var admin = (await File.ReadAllTextAsync(Path.Combine(_root, "admin.key"))).Trim();
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true, UseCookies = false };
        using var http = new HttpClient(handler) { BaseAddress = silo.HttpAddress };
        var signIn = await http.PostAsync("dashboard/session", new StringContent($$"""{"key":"{{admin}}"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith($"budgetgrains_key={admin};", cookie, StringComparison.Ordinal);
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WithAClientCaOnlyClientsWithACertificateItIssuedGetIn()
    {
        await using var silo = await Silo.StartAsync(Options(mutual: true), logging => logging.SetMinimumLevel(LogLevel.Warning));
        var admin = (await File.ReadAllTextAsync(Path.Combine(_root, "admin.key"))).Trim();

        using (var trusted = _certificates.Channel(silo.Address, _certificates.Client))
        {
            Assert.NotNull(await new ManagementClient(trusted).ListBudgetsAsync(new ListBudgetsRequest(), As(admin)));
        }
        foreach (var client in new[] { null, _certificates.Stranger })
        {
            using var channel = _certificates.Channel(silo.Address, client);
            var refused = await Assert.ThrowsAsync<RpcException>(() => new ManagementClient(channel).ListBudgetsAsync(new ListBudgetsRequest(), As(admin)).ResponseAsync);
            // Refused in the handshake: the connection fails (UNAVAILABLE) or is reset after it (INTERNAL), never answered.
            Assert.Contains(refused.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        }

        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var http = new HttpClient(handler) { BaseAddress = silo.HttpAddress };
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("api/v1/budgets"));
    }

    [Fact]
    public async Task AMissingKeyFileStopsTheStartNamingIt()
    {
        var options = Options(mutual: false);
        options.TlsKeyPath = Path.Combine(_root, "nope.key");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Silo.StartAsync(options));

        Assert.Contains("cannot load TLS certificate", e.Message, StringComparison.Ordinal);
    }
}
