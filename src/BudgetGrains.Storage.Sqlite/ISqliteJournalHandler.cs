using BudgetGrains.Grains.Journal;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite;

/// <summary>
/// Applies journal records (ledger entries, counters, ...) to the SQLite file inside the same transaction as the
/// grain state writes of a group-commit batch, so state and journal are durable together or not at all.
/// </summary>
public interface ISqliteJournalHandler
{
    /// <summary>CREATE TABLE IF NOT EXISTS ...; run once when the storage opens.</summary>
    void CreateSchema(SqliteConnection connection);

    /// <summary>Whether this handler applies the record. Each record must have exactly one handler that can.</summary>
    bool CanHandle(IJournalRecord record);

    /// <summary>All records of the batch this handler can handle, in issue order.</summary>
    void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records);
}
