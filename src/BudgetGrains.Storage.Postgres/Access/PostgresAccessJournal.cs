using BudgetGrains.Grains.Access;
using BudgetGrains.Grains.Journal;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Access;

/// <summary>Writes API keys (salted hashes only) and the audit log in the transaction of the batch that carries them.
/// As SqliteAccessJournal: both change on rare administrative calls, so one statement per record.</summary>
public sealed class PostgresAccessJournal : IPostgresJournalHandler
{
    public string Component => "access";

    public IReadOnlyList<string> Migrations { get; } =
    [
        """
        CREATE TABLE api_keys(
            id text COLLATE "C" PRIMARY KEY,
            role text NOT NULL,
            tenant text NOT NULL,
            name text NOT NULL,
            salt bytea NOT NULL,
            hash bytea NOT NULL,
            iterations integer NOT NULL,
            created_unix_ms bigint NOT NULL,
            created_by text NOT NULL,
            revoked_unix_ms bigint NOT NULL DEFAULT 0,
            revoked_by text NOT NULL DEFAULT '');
        CREATE TABLE audit_log(
            sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at_unix_ms bigint NOT NULL,
            key_id text NOT NULL,
            rpc text NOT NULL,
            target text COLLATE "C" NOT NULL,
            request_json text NOT NULL,
            before_json text NOT NULL,
            after_json text NOT NULL,
            peer text NOT NULL);
        CREATE INDEX audit_log_target ON audit_log(target, sequence);
        """,
    ];

    public bool CanHandle(IJournalRecord record) => record is ApiKeyCreated or ApiKeyRevoked or AuditRecorded;

    public void Append(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records)
    {
        foreach (var record in records)
        {
            batch.BatchCommands.Add(record switch
            {
                ApiKeyCreated { Key: var k } => BatchCommand("""
                    INSERT INTO api_keys(id, role, tenant, name, salt, hash, iterations, created_unix_ms, created_by, revoked_unix_ms, revoked_by)
                    VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                    """, k.Id, k.Role, k.Tenant, k.Name, k.Salt, k.Hash, k.Iterations, k.CreatedAtUnixMs, k.CreatedBy, k.RevokedAtUnixMs, k.RevokedBy),
                ApiKeyRevoked revoked => BatchCommand(
                    "UPDATE api_keys SET revoked_unix_ms = $2, revoked_by = $3 WHERE id = $1 AND revoked_unix_ms = 0",
                    revoked.Id, revoked.AtUnixMs, revoked.By),
                AuditRecorded { Entry: var e } => BatchCommand("""
                    INSERT INTO audit_log(at_unix_ms, key_id, rpc, target, request_json, before_json, after_json, peer)
                    VALUES($1, $2, $3, $4, $5, $6, $7, $8)
                    """, e.AtUnixMs, e.KeyId, e.Rpc, e.Target, e.RequestJson, e.BeforeJson, e.AfterJson, e.Peer),
                _ => throw new ArgumentException($"{record.GetType().Name} is not an access record", nameof(records)),
            });
        }
    }
}
