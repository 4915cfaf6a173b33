using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Prices;
using Microsoft.Data.Sqlite;
using static BudgetGrains.Storage.Sqlite.SqliteCommands;

namespace BudgetGrains.Storage.Sqlite.Prices;

/// <summary>
/// Writes the price catalog's journal (one row per model, and which default-file prices were applied) in the
/// transaction of the group-commit batch that carries it. Price changes are rare administrative calls, so the
/// statements are built per batch rather than kept prepared.
/// </summary>
public sealed class SqlitePriceJournal : ISqliteJournalHandler
{
    private const string Component = "prices";
    private const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS model_prices(
            model TEXT PRIMARY KEY,
            input_nanos INTEGER NOT NULL,
            cached_input_nanos INTEGER NOT NULL,
            output_nanos INTEGER NOT NULL,
            reasoning_nanos INTEGER NOT NULL,
            as_of TEXT NOT NULL,
            source TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS default_prices_applied(
            model TEXT PRIMARY KEY,
            as_of TEXT NOT NULL) WITHOUT ROWID;
        """;

    public void CreateSchema(SqliteConnection connection) =>
        SchemaVersions.Upgrade(connection, Component, SchemaVersion, (transaction, _) => SchemaVersions.Execute(connection, Schema, transaction));

    public bool CanHandle(IJournalRecord record) => record is PriceStored or PriceDeleted or DefaultPriceApplied;

    public void Apply(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<IJournalRecord> records)
    {
        foreach (var record in records)
        {
            switch (record)
            {
                case PriceStored { Price: var p }:
                    Run(connection, transaction, """
                        INSERT OR REPLACE INTO model_prices(model, input_nanos, cached_input_nanos, output_nanos, reasoning_nanos, as_of, source)
                        VALUES($1, $2, $3, $4, $5, $6, $7)
                        """, p.Model, p.Price.InputNanos, p.Price.CachedInputNanos, p.Price.OutputNanos, p.Price.ReasoningNanos,
                        p.AsOf, PriceSources.Name(p.Source));
                    break;
                case PriceDeleted deleted:
                    Run(connection, transaction, "DELETE FROM model_prices WHERE model = $1", deleted.Model);
                    break;
                case DefaultPriceApplied applied:
                    Run(connection, transaction, "INSERT OR REPLACE INTO default_prices_applied(model, as_of) VALUES($1, $2)",
                        applied.Model, applied.AsOf);
                    break;
            }
        }
    }
}
