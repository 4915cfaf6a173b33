using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace BudgetGrains.Server.Auth;

/// <summary>The roles of an API key (DESIGN.md §8).</summary>
internal static class ApiKeyRoles
{
    /// <summary>Everything: every rpc of every service, every tenant.</summary>
    public const string Admin = "admin";

    /// <summary>Admission (Reserve, Commit, Release, Check, WatchBudgets) for one tenant's scopes.</summary>
    public const string Agent = "agent";

    /// <summary>Read-only Management and alerts, optionally limited to one tenant.</summary>
    public const string Viewer = "viewer";

    public static bool IsKnown(string role) => role is Admin or Agent or Viewer;
}

/// <summary>Who a call comes from, once its key is verified (or everyone, with auth off).</summary>
/// <param name="KeyId">The key's id; "bootstrap" for the admin key file; "" with auth off.</param>
/// <param name="Tenant">The tenant the key is limited to; "" = every tenant.</param>
internal sealed record Caller(string KeyId, string Role, string Tenant)
{
    /// <summary>Auth off: every call may do everything, and the audit log names no key.</summary>
    public static readonly Caller Anyone = new("", ApiKeyRoles.Admin, "");

    public bool IsAdmin => Role == ApiKeyRoles.Admin;

    /// <summary>A key limited to one tenant (agent keys always, viewer keys optionally).</summary>
    public bool IsTenant => Tenant.Length > 0 && !IsAdmin;
}

/// <summary>
/// The secret of an API key and its hash. A secret is <c>bgk_&lt;id&gt;_&lt;random&gt;</c>: the id (16 hex digits) says
/// which stored key to compare with, so verification never scans; the random part is 32 bytes from the system's CSPRNG.
/// The store keeps PBKDF2-SHA256 of the whole secret with a per-key salt (docs/decisions/0018-api-keys-and-modes.md).
/// </summary>
internal static class ApiKeySecrets
{
    public const string Prefix = "bgk_";
    public const int IdLength = 16;

    /// <summary>PBKDF2 iterations for new keys (the secret already has 256 random bits; the KDF is defence in depth).</summary>
    public const int Iterations = 100_000;

    public const int SaltBytes = 16;
    public const int HashBytes = 32;

    /// <summary>Longest authorization value looked at; anything longer is not a key of ours.</summary>
    public const int MaxSecretLength = 512;

    public static (string Id, string Secret) NewKey()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));
        return (id, $"{Prefix}{id}_{Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32))}");
    }

    /// <summary>The key id inside a secret of the right shape.</summary>
    public static bool TryParseId(string secret, out string id)
    {
        id = "";
        if (secret.Length < Prefix.Length + IdLength + 2 || !secret.StartsWith(Prefix, StringComparison.Ordinal)
            || secret[Prefix.Length + IdLength] != '_') return false;
        var candidate = secret.Substring(Prefix.Length, IdLength);
        if (!candidate.All(Uri.IsHexDigit)) return false;
        id = candidate;
        return true;
    }

    public static byte[] NewSalt() => RandomNumberGenerator.GetBytes(SaltBytes);

    public static byte[] Hash(string secret, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, HashBytes);

    /// <summary>A fast digest of a secret already verified, kept in memory to recognise it again without the KDF.</summary>
    public static byte[] Digest(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
