using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Prices;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Prices;

/// <summary>Writes the price catalog's journal (one row per model, and which default-file prices were applied) in the
/// transaction of the batch that carries it. As SqlitePriceJournal.</summary>
public sealed class PostgresPriceJournal : IPostgresJournalHandler
{
    public string Component => "prices";

    public IReadOnlyList<string> Migrations { get; } =
    [
        """
        CREATE TABLE model_prices(
            model text COLLATE "C" PRIMARY KEY,
            input_nanos bigint NOT NULL,
            cached_input_nanos bigint NOT NULL,
            output_nanos bigint NOT NULL,
            reasoning_nanos bigint NOT NULL,
            as_of text NOT NULL,
            source text NOT NULL);
        CREATE TABLE default_prices_applied(
            model text COLLATE "C" PRIMARY KEY,
            as_of text NOT NULL);
        """,
    ];

    private const string Store = """
        INSERT INTO model_prices(model, input_nanos, cached_input_nanos, output_nanos, reasoning_nanos, as_of, source)
        VALUES($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT(model) DO UPDATE SET input_nanos = excluded.input_nanos, cached_input_nanos = excluded.cached_input_nanos,
            output_nanos = excluded.output_nanos, reasoning_nanos = excluded.reasoning_nanos, as_of = excluded.as_of, source = excluded.source
        """;

    public bool CanHandle(IJournalRecord record) => record is PriceStored or PriceDeleted or DefaultPriceApplied;

    public void Append(NpgsqlBatch batch, IReadOnlyList<IJournalRecord> records)
    {
        foreach (var record in records)
        {
            batch.BatchCommands.Add(record switch
            {
                PriceStored { Price: var p } => BatchCommand(Store, p.Model, p.Price.InputNanos, p.Price.CachedInputNanos, p.Price.OutputNanos,
                    p.Price.ReasoningNanos, p.AsOf, PriceSources.Name(p.Source)),
                PriceDeleted deleted => BatchCommand("DELETE FROM model_prices WHERE model = $1", deleted.Model),
                DefaultPriceApplied applied => BatchCommand(
                    "INSERT INTO default_prices_applied(model, as_of) VALUES($1, $2) ON CONFLICT(model) DO UPDATE SET as_of = excluded.as_of",
                    applied.Model, applied.AsOf),
                _ => throw new ArgumentException($"{record.GetType().Name} is not a price record", nameof(records)),
            });
        }
    }
}
