using System.Net;
using System.Security.Cryptography.X509Certificates;
using BudgetGrains.Server.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace BudgetGrains.Server.Auth;

/// <summary>Authentication settings, section "BudgetGrains:Auth" (docs/configuration.md, docs/decisions/0018).</summary>
public sealed class AuthOptions
{
    public const string Required = "required";
    public const string Off = "off";

    /// <summary>"required" or "off"; unset = off when every listener is on loopback, else required.</summary>
    public string? Mode { get; set; }

    /// <summary>A file holding the bootstrap admin key; created with a fresh key (mode 0600) when missing.</summary>
    public string? AdminKeyFile { get; set; }

    /// <summary>Failed authentications (a key that is malformed, unknown, revoked or wrong) allowed per client address
    /// per minute; beyond it every call with a key from that address is RESOURCE_EXHAUSTED until the minute is over.</summary>
    public int MaxFailuresPerMinute { get; set; } = FailedAuthLimiter.DefaultMaxFailuresPerMinute;
}

/// <summary>What the silo's settings mean for authentication, decided before anything listens.</summary>
internal sealed record AuthSetup(bool Required, string? BootstrapSecret, string? CreatedKeyFile)
{
    /// <summary>Shortest key accepted from an existing admin key file.</summary>
    public const int MinKeyFileSecretLength = 32;

    /// <exception cref="InvalidOperationException">The settings are contradictory or unsafe; the message says why (one line).</exception>
    public static AuthSetup Resolve(SiloOptions options)
    {
        var auth = options.Auth;
        if (auth.MaxFailuresPerMinute < 1)
            throw new InvalidOperationException($"BudgetGrains:Auth:MaxFailuresPerMinute is {auth.MaxFailuresPerMinute}; it must be at least 1");
        var listeners = new List<IPEndPoint> { options.ListenEndPoint };
        if (options.HttpEndPoint is { } http) listeners.Add(http);
        var beyondLoopback = listeners.FirstOrDefault(e => !IPAddress.IsLoopback(e.Address));
        bool required;
        switch (auth.Mode?.Trim().ToLowerInvariant())
        {
            case null or "":
                required = beyondLoopback is not null;
                break;
            case AuthOptions.Required:
                required = true;
                break;
            case AuthOptions.Off:
                if (beyondLoopback is not null)
                    throw new InvalidOperationException(
                        $"auth is off but the silo would listen on {beyondLoopback}, beyond loopback, where anyone who reaches it could spend and change budgets; " +
                        "use --auth required with --admin-key-file PATH, or listen on 127.0.0.1");
                required = false;
                break;
            default:
                throw new InvalidOperationException($"BudgetGrains:Auth:Mode '{auth.Mode}' is not one of required, off (--auth required|off)");
        }

        if (auth.AdminKeyFile is not { Length: > 0 } file) return new AuthSetup(required, null, null);
        var path = Path.GetFullPath(file);
        if (!File.Exists(path))
        {
            var (_, secret) = ApiKeySecrets.NewKey();
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var stream = new FileStream(path, create))
                using (var writer = new StreamWriter(stream))
                {
                    writer.WriteLine(secret);
                }
                return new AuthSetup(required, secret, path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"cannot create admin key file {path}: {e.Message}", e);
            }
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            throw new InvalidOperationException($"admin key file {path} can be read or written by other users; chmod 600 it");
        string existing;
        try
        {
            existing = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot read admin key file {path}: {e.Message}", e);
        }
        if (existing.Length < MinKeyFileSecretLength || existing.Length > ApiKeySecrets.MaxSecretLength || existing.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new InvalidOperationException(
                $"admin key file {path} does not hold one key of {MinKeyFileSecretLength} to {ApiKeySecrets.MaxSecretLength} characters without spaces; delete it to have a new one made");
        return new AuthSetup(required, existing, null);
    }
}

/// <summary>TLS of both listeners from the silo's settings: a PEM certificate and key (or a PKCS#12 file), and
/// optionally a CA whose certificates clients must present (mTLS).</summary>
internal sealed class TlsSettings
{
    private TlsSettings(X509Certificate2 certificate, X509Certificate2? clientCa) => (Certificate, ClientCa) = (certificate, clientCa);

    public X509Certificate2 Certificate { get; }

    public X509Certificate2? ClientCa { get; }

    /// <summary>Null when no certificate is configured.</summary>
    /// <exception cref="InvalidOperationException">A file is missing or not what it should be.</exception>
    public static TlsSettings? From(SiloOptions options)
    {
        if (options.TlsCertificatePath is not { Length: > 0 } certificatePath)
        {
            if (options.TlsKeyPath is { Length: > 0 } || options.TlsClientCaPath is { Length: > 0 })
                throw new InvalidOperationException("--tls-key and --tls-client-ca need --tls-cert (the silo's certificate)");
            return null;
        }
        var certificate = Load("TLS certificate", certificatePath, () => options.TlsKeyPath is { Length: > 0 } keyPath
            ? X509Certificate2.CreateFromPemFile(certificatePath, keyPath)
            : X509CertificateLoader.LoadPkcs12FromFile(certificatePath, options.TlsCertificatePassword));
        var ca = options.TlsClientCaPath is { Length: > 0 } caPath
            ? Load("client CA certificate", caPath, () => X509CertificateLoader.LoadCertificateFromFile(caPath))
            : null;
        return new TlsSettings(certificate, ca);
    }

    /// <summary>TLS on a listener; with a client CA, a client without a certificate it issued is refused in the handshake.</summary>
    public void Apply(ListenOptions listen)
    {
        var https = new HttpsConnectionAdapterOptions { ServerCertificate = Certificate };
        if (ClientCa is { } ca)
        {
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = (certificate, _, _) => IssuedBy(certificate, ca);
        }
        listen.UseHttps(https);
    }

    /// <summary>The client's certificate chains to exactly this CA (the system's roots are not trusted for clients).</summary>
    private static bool IssuedBy(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client authentication
        return chain.Build(certificate);
    }

    private static X509Certificate2 Load(string what, string path, Func<X509Certificate2> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"cannot load {what} {Path.GetFullPath(path)}: {e.Message}", e);
        }
    }
}
