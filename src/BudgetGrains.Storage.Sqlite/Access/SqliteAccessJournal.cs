using BudgetGrains.Grains.Access;
using BudgetGrains.Grains.Journal;
using Microsoft.Data.Sqlite;
using static BudgetGrains.Storage.Sqlite.SqliteCommands;

namespace BudgetGrains.Storage.Sqlite.Access;

/// <summary>
/// Writes API keys (salted hashes only) and the audit log in the transaction of the group-commit batch that carries
/// them. Both change on rare administrative calls, so the statements are built per batch.
/// </summary>
public sealed class SqliteAccessJournal : ISqliteJournalHandler
{
    private const string Component = "access";
    private const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS api_keys(
            id TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            salt BLOB NOT NULL,
            hash BLOB NOT NULL,
            iterations INTEGER NOT NULL,
            created_unix_ms INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            revoked_unix_ms INTEGER NOT NULL DEFAULT 0,
            revoked_by TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS audit_log(
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            at_unix_ms INTEGER NOT NULL,
            key_id TEXT NOT NULL,
            rpc TEXT NOT NULL,
            target TEXT NOT NULL,
            request_json TEXT NOT NULL,
            before_json TEXT NOT NULL,
            after_json TEXT NOT NULL,
            peer TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log(target, sequence);
        """;

    public void CreateSchema(SqliteConnection connection) =>
        SchemaVersions.Upgrade(connection, Component, SchemaVersion, (transaction, _) => SchemaVersions.Execute(connection, Schema, transaction));

    public bool CanHandle(IJournalRecord record) => record is ApiKeyCreated or ApiKeyRevoked or AuditRecorded;

    public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
    {
        foreach (var record in records)
        {
            switch (record)
            {
                case ApiKeyCreated { Key: var k }:
                    Run(connection, transaction, """
                        INSERT INTO api_keys(id, role, tenant, name, salt, hash, iterations, created_unix_ms, created_by, revoked_unix_ms, revoked_by)
                        VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                        """, k.Id, k.Role, k.Tenant, k.Name, k.Salt, k.Hash, k.Iterations, k.CreatedAtUnixMs, k.CreatedBy, k.RevokedAtUnixMs, k.RevokedBy);
                    break;
                case ApiKeyRevoked revoked:
                    Run(connection, transaction, "UPDATE api_keys SET revoked_unix_ms = $2, revoked_by = $3 WHERE id = $1 AND revoked_unix_ms = 0",
                        revoked.Id, revoked.AtUnixMs, revoked.By);
                    break;
                case AuditRecorded { Entry: var e }:
                    Run(connection, transaction, """
                        INSERT INTO audit_log(at_unix_ms, key_id, rpc, target, request_json, before_json, after_json, peer)
                        VALUES($1, $2, $3, $4, $5, $6, $7, $8)
                        """, e.AtUnixMs, e.KeyId, e.Rpc, e.Target, e.RequestJson, e.BeforeJson, e.AfterJson, e.Peer);
                    break;
            }
        }
    }
}
