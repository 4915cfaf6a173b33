using BudgetGrains.Grains.Journal;

namespace BudgetGrains.Grains.Access;

// The durable side of API keys and the audit log (docs/decisions/0018-api-keys-and-modes.md): journal records written
// through the silo's JournalService into the same store as budgets, and the queries that read them back.

/// <summary>An API key as stored: its salted hash, never its secret.</summary>
/// <param name="Id">The key id, also part of the secret ("bgk_&lt;id&gt;_...").</param>
/// <param name="Role">"admin", "agent" or "viewer".</param>
/// <param name="Tenant">The tenant an agent or viewer key is limited to; "" = every tenant.</param>
/// <param name="Salt">Per-key random salt of the KDF.</param>
/// <param name="Hash">PBKDF2-SHA256(secret, salt, <paramref name="Iterations"/>).</param>
/// <param name="RevokedAtUnixMs">0 while the key is active.</param>
public sealed record StoredApiKey(
    string Id,
    string Role,
    string Tenant,
    string Name,
    byte[] Salt,
    byte[] Hash,
    int Iterations,
    long CreatedAtUnixMs,
    string CreatedBy,
    long RevokedAtUnixMs = 0,
    string RevokedBy = "")
{
    public bool Revoked => RevokedAtUnixMs != 0;
}

/// <summary>Create a key (its id is new).</summary>
public sealed record ApiKeyCreated(StoredApiKey Key) : IJournalRecord;

/// <summary>Mark a key revoked.</summary>
public sealed record ApiKeyRevoked(string Id, long AtUnixMs, string By) : IJournalRecord;

/// <summary>One management change (who, what, before, after, when).</summary>
public sealed record AuditEntry(
    long Sequence,
    long AtUnixMs,
    string KeyId,
    string Rpc,
    string Target,
    string RequestJson,
    string BeforeJson,
    string AfterJson,
    string Peer);

/// <summary>Append an audit entry; the store gives it the next sequence number (<see cref="AuditEntry.Sequence"/> is ignored).</summary>
public sealed record AuditRecorded(AuditEntry Entry) : IJournalRecord;

/// <summary>One page of the audit log, newest first; <paramref name="NextBefore"/> = 0 on the last page.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long NextBefore);

/// <summary>The queries of keys and audit a store answers.</summary>
public interface IAccessStore
{
    /// <summary>Every stored key, revoked ones included (read once, when the silo starts).</summary>
    Task<IReadOnlyList<StoredApiKey>> ReadKeysAsync(CancellationToken cancellationToken);

    /// <summary>Entries with a sequence below <paramref name="before"/> (0 = from the newest) whose target starts with
    /// <paramref name="targetPrefix"/>, newest first, at most <paramref name="limit"/>.</summary>
    Task<AuditPage> ListAuditAsync(string targetPrefix, long before, int limit, CancellationToken cancellationToken);
}

/// <summary>The rows of the key and audit tables as both backends select them (same columns, same order).</summary>
public static class AccessRows
{
    public const string KeyColumns = "id, role, tenant, name, salt, hash, iterations, created_unix_ms, created_by, revoked_unix_ms, revoked_by";

    public const string AuditColumns = "sequence, at_unix_ms, key_id, rpc, target, request_json, before_json, after_json, peer";

    public static StoredApiKey Key(System.Data.Common.DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
        (byte[])r.GetValue(4), (byte[])r.GetValue(5), r.GetInt32(6), r.GetInt64(7), r.GetString(8), r.GetInt64(9), r.GetString(10));

    public static AuditEntry Audit(System.Data.Common.DbDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3),
        r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7), r.GetString(8));

    /// <summary>One page from rows fetched with one extra (limit + 1): the extra one only says that more follow.</summary>
    public static AuditPage Page(List<AuditEntry> entries, int limit)
    {
        if (entries.Count <= limit) return new AuditPage(entries, 0);
        entries.RemoveAt(entries.Count - 1);
        return new AuditPage(entries, entries[^1].Sequence);
    }
}
