using System.Collections.Concurrent;
using System.Security.Cryptography;
using BudgetGrains.Grains.Access;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Scopes;
using Grpc.Core;

namespace BudgetGrains.Server.Auth;

/// <summary>
/// The silo's API keys: every stored key in memory (salted hashes only), changes written through the journal before
/// they take effect, verification on the admission path without the KDF for a secret verified in the last
/// <see cref="VerifiedTtl"/>. A revocation is effective at once on this silo: every verification reads the key's record.
/// </summary>
internal sealed class ApiKeyRegistry
{
    /// <summary>Keys stored, revoked ones included (they stay, so the audit log's key ids keep their meaning).</summary>
    public const int MaxApiKeys = 10_000;

    public const int MaxNameLength = 128;

    /// <summary>The key id of the admin key file's key (it is not stored: the file is its store).</summary>
    public const string BootstrapId = "bootstrap";

    /// <summary>How long a verified secret is recognised by its SHA-256 digest instead of the KDF.</summary>
    public static readonly TimeSpan VerifiedTtl = TimeSpan.FromMinutes(1);

    private static readonly StateKey JournalKey = new("apikeys", "registry");

    private readonly ConcurrentDictionary<string, StoredApiKey> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (byte[] Digest, long UntilMs)> _verified = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly JournalService _journal;
    private readonly TimeProvider _clock;
    private readonly byte[]? _bootstrap;

    public ApiKeyRegistry(IEnumerable<StoredApiKey> stored, JournalService journal, TimeProvider clock, string? bootstrapSecret)
    {
        (_journal, _clock) = (journal, clock);
        foreach (var key in stored) _keys[key.Id] = key;
        _bootstrap = bootstrapSecret is null ? null : ApiKeySecrets.Digest(bootstrapSecret);
    }

    /// <summary>Whether any admin key can be used: the key file's, or an active stored one.</summary>
    public static bool HasAdmin(IEnumerable<StoredApiKey> stored, string? bootstrapSecret) =>
        bootstrapSecret is not null || stored.Any(k => !k.Revoked && k.Role == ApiKeyRoles.Admin);

    /// <summary>The caller a secret stands for; null for an unknown, revoked or wrong secret.</summary>
    public Caller? Verify(string secret)
    {
        if (secret.Length > ApiKeySecrets.MaxSecretLength) return null;
        var digest = ApiKeySecrets.Digest(secret);
        if (_bootstrap is not null && CryptographicOperations.FixedTimeEquals(digest, _bootstrap))
            return new Caller(BootstrapId, ApiKeyRoles.Admin, "");
        if (!ApiKeySecrets.TryParseId(secret, out var id) || !_keys.TryGetValue(id, out var key) || key.Revoked) return null;

        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (!(_verified.TryGetValue(id, out var known) && known.UntilMs > now && CryptographicOperations.FixedTimeEquals(known.Digest, digest)))
        {
            if (!CryptographicOperations.FixedTimeEquals(ApiKeySecrets.Hash(secret, key.Salt, key.Iterations), key.Hash)) return null;
            _verified[id] = (digest, now + (long)VerifiedTtl.TotalMilliseconds);
        }
        // Read again: a revocation that ran meanwhile wins.
        return _keys.TryGetValue(id, out key) && !key.Revoked ? new Caller(key.Id, key.Role, key.Tenant) : null;
    }

    public async Task<(StoredApiKey Key, string Secret)> CreateAsync(string role, string tenant, string name, string by)
    {
        if (!ApiKeyRoles.IsKnown(role)) throw Invalid($"role '{Short(role)}' is not one of admin, agent, viewer");
        if (role == ApiKeyRoles.Admin && tenant.Length > 0) throw Invalid("an admin key has no tenant: it may act for every tenant");
        if (role == ApiKeyRoles.Agent && tenant.Length == 0) throw Invalid("an agent key needs a tenant (--tenant): it reserves for that tenant only");
        if (tenant.Length > 0 && ScopeIds.ValidateKey(tenant, "tenant") is { } badTenant) throw Invalid(badTenant);
        if (name.Length > MaxNameLength) throw Invalid($"name is {name.Length} characters; the limit is {MaxNameLength}");
        if (name.Any(char.IsControl)) throw Invalid("name contains a control character");

        await _changes.WaitAsync();
        try
        {
            if (_keys.Count >= MaxApiKeys)
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the silo stores {MaxApiKeys} API keys, the limit (revoked keys count too)"));
            var (id, secret) = ApiKeySecrets.NewKey();
            while (_keys.ContainsKey(id) || id == BootstrapId) (id, secret) = ApiKeySecrets.NewKey();
            var salt = ApiKeySecrets.NewSalt();
            var key = new StoredApiKey(id, role, tenant, name, salt, ApiKeySecrets.Hash(secret, salt, ApiKeySecrets.Iterations),
                ApiKeySecrets.Iterations, _clock.GetUtcNow().ToUnixTimeMilliseconds(), by);
            await WriteAsync(new ApiKeyCreated(key));
            _keys[id] = key;
            return (key, secret);
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Revokes a key (idempotent: a revoked key is answered as it is).</summary>
    public async Task<StoredApiKey> RevokeAsync(string id, string by)
    {
        if (id.Length == 0) throw Invalid("id is required");
        await _changes.WaitAsync();
        try
        {
            if (!_keys.TryGetValue(id, out var key)) throw new RpcException(new Status(StatusCode.NotFound, $"no API key '{Short(id)}'"));
            if (key.Revoked) return key;
            var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            await WriteAsync(new ApiKeyRevoked(id, now, by));
            var revoked = key with { RevokedAtUnixMs = now, RevokedBy = by };
            _keys[id] = revoked;
            _verified.TryRemove(id, out _);
            return revoked;
        }
        finally
        {
            _changes.Release();
        }
    }

    public StoredApiKey? Find(string id) => _keys.TryGetValue(id, out var key) ? key : null;

    /// <summary>Keys with an id after <paramref name="after"/>, in id order.</summary>
    public IReadOnlyList<StoredApiKey> List(bool includeRevoked, string after, int limit) =>
        [.. _keys.Values.Where(k => (includeRevoked || !k.Revoked) && string.CompareOrdinal(k.Id, after) > 0)
            .OrderBy(k => k.Id, StringComparer.Ordinal).Take(limit)];

    private async Task WriteAsync(IJournalRecord record)
    {
        try
        {
            await _journal.AppendAsync(new JournalWrite(JournalKey, null, [record]));
        }
        catch (StorageUnavailableException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the key change could not be made durable; retry: " + e.Message));
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
