using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Prices;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Storage.Sqlite.Prices;

/// <summary>The price queries (<see cref="IPriceStore"/>) on the SQLite file, over read connections.</summary>
public sealed class SqlitePriceStore(Func<SqliteConnection> openReadConnection) : IPriceStore
{
    public async Task<StoredPrices> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = openReadConnection();
        var prices = new List<CatalogPrice>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT model, input_nanos, cached_input_nanos, output_nanos, reasoning_nanos, as_of, source FROM model_prices";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var price = new ModelPrice(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
                prices.Add(new CatalogPrice(reader.GetString(0), price, reader.GetString(5), PriceSources.Parse(reader.GetString(6))));
            }
        }
        var applied = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT model, as_of FROM default_prices_applied";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) applied[reader.GetString(0)] = reader.GetString(1);
        }
        return new StoredPrices(prices, applied);
    }
}
