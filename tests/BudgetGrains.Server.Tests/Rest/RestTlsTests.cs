using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>With a TLS certificate gRPC is served over TLS, and the HTTP endpoint is HTTPS with the same certificate.</summary>
public sealed class RestTlsTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-resttls-" + Guid.NewGuid().ToString("N"));
    private X509Certificate2 _certificate = null!;
    private Silo _silo = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataDir);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(_dataDir, "silo.pfx");
        await File.WriteAllBytesAsync(pfx, _certificate.Export(X509ContentType.Pfx, "pw"));
        _silo = await Silo.StartAsync(new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir, TlsCertificatePath = pfx, TlsCertificatePassword = "pw" },
            logging => logging.SetMinimumLevel(LogLevel.Warning));
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        _certificate.Dispose();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task RestIsServedOverHttpsWithTheSilosCertificate()
    {
        Assert.Equal("https", _silo.HttpAddress!.Scheme);
        X509Certificate2? presented = null;
        using var handler = new HttpClientHandler
        {
            // Trust exactly the test's self-signed certificate, and record that it is the one presented.
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                presented = certificate is null ? null : new X509Certificate2(certificate);
                return certificate?.Thumbprint == _certificate.Thumbprint;
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = _silo.HttpAddress, DefaultRequestVersion = HttpVersion.Version11 };
        var scope = "team/" + Build.UniqueKey("rest-tls");

        using var put = await http.PutAsync("api/v1/budgets/" + scope, new StringContent("""{"limitNanos": 9}""", System.Text.Encoding.UTF8, "application/json"));
        var status = JsonParser.Default.Parse<BudgetStatus>(await put.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal((scope, 9L), (status.Scope, status.LimitNanos));
        Assert.Equal(_certificate.Thumbprint, presented?.Thumbprint);
        presented?.Dispose();
    }

    [Fact]
    public async Task GrpcIsServedOverTlsWithTheSameCertificate()
    {
        Assert.Equal("https", _silo.Address.Scheme);
        using var channel = GrpcChannel.ForAddress(_silo.Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == _certificate.Thumbprint },
            },
        });
        var management = new ManagementClient(channel);
        var scope = "team/" + Build.UniqueKey("grpc-tls");

        var status = await management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 7 });

        Assert.Equal((scope, 7L), (status.Scope, status.LimitNanos));
    }
}
