using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli;

/// <summary>One command's connection to the silo and its output.</summary>
internal sealed class Session : IDisposable
{
    /// <summary>Every call gets a deadline, so a stuck silo ends the command instead of hanging the terminal.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly GrpcChannel _channel;
    private readonly X509Certificate2? _ca;

    /// <param name="apiKey">Sent as <c>authorization: Bearer</c> with every call; null = none.</param>
    /// <param name="caFile">A PEM CA the server's certificate must chain to (instead of the system's roots).</param>
    public Session(Uri server, Output output, string? apiKey = null, FileInfo? caFile = null)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        if (caFile is not null)
        {
            _ca = LoadCa(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is not null && ChainsTo(new X509Certificate2(certificate), _ca, errors);
        }
        HttpMessageHandler outer = apiKey is null ? handler : new BearerHandler(apiKey, handler);
        _channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions { HttpHandler = outer, DisposeHttpClient = true });
        Admission = new V1.Admission.AdmissionClient(_channel);
        Management = new V1.Management.ManagementClient(_channel);
        Alerts = new V1.Alerts.AlertsClient(_channel);
        Output = output;
    }

    public Output Output { get; }

    public V1.Admission.AdmissionClient Admission { get; }

    public V1.Management.ManagementClient Management { get; }

    public V1.Alerts.AlertsClient Alerts { get; }

    public CallOptions Call(CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellationToken);

    public void Dispose()
    {
        _channel.Dispose();
        _ca?.Dispose();
    }

    private static X509Certificate2 LoadCa(FileInfo file)
    {
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"cannot read --ca-file {file.FullName}: {e.Message}"));
        }
    }

    /// <summary>The server's certificate chains to the CA (its name is checked as usual).</summary>
    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca, System.Net.Security.SslPolicyErrors errors)
    {
        using (certificate)
        {
            if ((errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        }
    }

    private sealed class BearerHandler(string apiKey, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
