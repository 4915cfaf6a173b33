using System.Globalization;
using System.Text;
using System.Text.Json;
using BudgetGrains.Contracts.V1;

namespace BudgetGrains.Cli.Commands;

/// <summary>A file with a bad row, named by its row.</summary>
internal sealed class SharedCostFileException(string message) : Exception(message);

/// <summary>
/// The shared-cost files `budgetctl allocation import` reads: a CSV with a header row, or a JSON array of objects, both with
/// the fields pool, period_start, period_end (UTC dates or ISO 8601 instants), amount (dollars, up to 9 decimals), currency,
/// driver, dimension and estimated (true/false). Amounts are read as exact decimals into nanos.
/// </summary>
internal static class SharedCostFile
{
    private static readonly string[] Required = ["pool", "period_start", "period_end", "amount", "driver", "dimension"];
    private static readonly string[] Known = [.. Required, "currency", "estimated"];

    public static List<SharedCost> Read(string content, string format) => format == "json" ? ReadJson(content) : ReadCsv(content);

    private static List<SharedCost> ReadCsv(string content)
    {
        var lines = Records(content);
        if (lines.Count == 0) throw new SharedCostFileException("the file is empty: it needs a header row (" + string.Join(",", Required) + ")");
        var header = lines[0].Select(h => h.Trim().ToLowerInvariant()).ToList();
        if (header.FirstOrDefault(h => !Known.Contains(h)) is { } unknown)
            throw new SharedCostFileException($"column '{unknown}' is unknown; the columns are {string.Join(", ", Known)}");
        if (Required.FirstOrDefault(r => !header.Contains(r)) is { } missing) throw new SharedCostFileException($"no {missing} column");
        var costs = new List<SharedCost>();
        for (var i = 1; i < lines.Count; i++)
        {
            if (lines[i].Count == 1 && lines[i][0].Trim().Length == 0) continue;
            if (lines[i].Count != header.Count)
                throw new SharedCostFileException($"row {i + 1} has {lines[i].Count} fields; the header has {header.Count}");
            var row = header.Zip(lines[i]).ToDictionary(p => p.First, p => p.Second.Trim());
            costs.Add(Cost($"row {i + 1}", row));
        }
        return costs;
    }

    private static List<SharedCost> ReadJson(string content)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content);
        }
        catch (JsonException e)
        {
            throw new SharedCostFileException($"not JSON: {e.Message}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array) throw new SharedCostFileException("the JSON must be an array of objects");
            var costs = new List<SharedCost>();
            var n = 0;
            foreach (var item in document.RootElement.EnumerateArray())
            {
                var where = $"item {++n}";
                if (item.ValueKind != JsonValueKind.Object) throw new SharedCostFileException($"{where} is not an object");
                var row = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var property in item.EnumerateObject())
                {
                    if (!Known.Contains(property.Name))
                        throw new SharedCostFileException($"{where}: field '{property.Name}' is unknown; the fields are {string.Join(", ", Known)}");
                    // A number keeps its exact text: 0.1 stays 0.1, never a double's 0.1000000000000000055.
                    row[property.Name] = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString()!,
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                        _ => throw new SharedCostFileException($"{where}: {property.Name} must be a string or a number"),
                    };
                }
                if (Required.FirstOrDefault(r => !row.ContainsKey(r)) is { } missing) throw new SharedCostFileException($"{where} has no {missing}");
                costs.Add(Cost(where, row));
            }
            return costs;
        }
    }

    private static SharedCost Cost(string where, Dictionary<string, string> row)
    {
        long Instant(string field) => Options.TryParseInstant(row[field], out var ms) ? ms
            : throw new SharedCostFileException($"{where}: {field} '{row[field]}' is not a date (write 2026-11-01, or 2026-11-01T10:00:00Z)");
        if (!MoneyInput.TryParseNanos(row["amount"], out var nanos, out var error)) throw new SharedCostFileException($"{where}: amount {error}");
        var estimated = row.GetValueOrDefault("estimated", "") switch
        {
            "" or "false" or "no" => false,
            "true" or "yes" => true,
            var other => throw new SharedCostFileException($"{where}: estimated '{other}' must be true or false"),
        };
        return new SharedCost
        {
            Pool = row["pool"], PeriodStartUnixMs = Instant("period_start"), PeriodEndUnixMs = Instant("period_end"), AmountNanos = nanos,
            Currency = row.GetValueOrDefault("currency", ""), Driver = row["driver"], Dimension = row["dimension"], Estimated = estimated,
        };
    }

    /// <summary>CSV records (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks).</summary>
    private static List<List<string>> Records(string content)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < content.Length; i++)
        {
            var c = content[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < content.Length && content[i + 1] == '"') field.Append(content[++i]);
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { record.Add(field.ToString()); field.Clear(); }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < content.Length && content[i + 1] == '\n') i++;
                record.Add(field.ToString());
                field.Clear();
                records.Add(record);
                record = [];
            }
            else field.Append(c);
        }
        if (quoted) throw new SharedCostFileException("a quoted field is not closed");
        if (field.Length > 0 || record.Count > 0)
        {
            record.Add(field.ToString());
            records.Add(record);
        }
        return records;
    }

    internal static string Day(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
