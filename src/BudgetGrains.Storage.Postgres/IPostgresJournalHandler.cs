using BudgetGrains.Grains.Journal;
using Npgsql;

namespace BudgetGrains.Storage.Postgres;

/// <summary>
/// Turns journal records (ledger entries, counters, alerts, prices...) into statements of the group-commit batch, so
/// they commit in the same transaction as the grain states that go with them: durable together or not at all.
/// </summary>
public interface IPostgresJournalHandler
{
    /// <summary>The component whose tables this handler owns (its row in schema_versions).</summary>
    string Component { get; }

    /// <summary>The schema, as migrations: entry i brings the tables from version i to version i + 1, so the code's
    /// version is the number of entries. Applied by <see cref="PostgresSchema"/> when the store opens.</summary>
    IReadOnlyList<string> Migrations { get; }

    /// <summary>Whether this handler applies the record. Each record must have exactly one handler that can.</summary>
    bool CanHandle(IJournalRecord record);

    /// <summary>Statements that must run first in the batch's transaction, before any row is locked (so that batches of
    /// several silos never wait on each other in a cycle): transaction-level advisory locks. Most handlers have none.</summary>
    void Lock(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records)
    {
    }

    /// <summary>Adds the statements for all records of the batch this handler can handle (in issue order) to
    /// <paramref name="batch"/>, which runs as one transaction.</summary>
    void Append(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records);
}
