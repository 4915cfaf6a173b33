using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Prices;
using Npgsql;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres.Prices;

/// <summary>The price queries (<see cref="IPriceStore"/>) on PostgreSQL: the same results as SqlitePriceStore.</summary>
public sealed class PostgresPriceStore(NpgsqlDataSource dataSource) : IPriceStore
{
    public async Task<StoredPrices> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var prices = new List<CatalogPrice>();
        await using (var command = Command(connection,
            "SELECT model, input_nanos, cached_input_nanos, output_nanos, reasoning_nanos, as_of, source FROM model_prices ORDER BY model"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var price = new ModelPrice(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
                prices.Add(new CatalogPrice(reader.GetString(0), price, reader.GetString(5), PriceSources.Parse(reader.GetString(6))));
            }
        }
        var applied = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var command = Command(connection, "SELECT model, as_of FROM default_prices_applied ORDER BY model"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken)) applied[reader.GetString(0)] = reader.GetString(1);
        }
        return new StoredPrices(prices, applied);
    }
}
