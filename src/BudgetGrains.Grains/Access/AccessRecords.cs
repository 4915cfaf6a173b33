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
