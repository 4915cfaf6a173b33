using System.Globalization;
using System.Text.Json;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;

namespace BudgetGrains.Server.Reconciliation;

/// <summary>A bill file read: its lines summed per provider, model, kind and UTC day, its currency and the rows left out.</summary>
internal sealed record ParsedBill(IReadOnlyList<BillLine> Lines, string Currency, int SkippedRows);

/// <summary>A bill file that cannot be read; the message names the row or field.</summary>
internal sealed class BillFileException(string message) : Exception(message);

/// <summary>
/// Reads provider cost exports (docs/decisions/0036; the shapes in examples/bills/README.md). Costs are decimals of the
/// currency, read exactly (never through floating point) and rounded half away from zero to whole nanos.
/// </summary>
internal static class BillFiles
{
    public const string Focus = "focus";
    public const string OpenAi = "openai";
    private const long DayMs = 86_400_000;

    /// <summary>FOCUS CSV: the header names the columns; BilledCost, BillingCurrency, ChargePeriodStart and ProviderName are
    /// required; the model is x_Model, else SkuId, else ServiceName; rows whose ChargeCategory is not Usage are left out.</summary>
    public static ParsedBill ReadFocus(string text)
    {
        var rows = CsvReader.Read(text);
        if (rows.Count == 0) throw new BillFileException("the file is empty: a FOCUS CSV starts with its header row");
        var header = rows[0];
        int Column(string name, bool required)
        {
            var index = header.IndexOf(name);
            if (index < 0 && required) throw new BillFileException($"the header has no {name} column (FOCUS columns needed: BilledCost, BillingCurrency, ChargePeriodStart, ProviderName)");
            return index;
        }
        var (cost, currency, start, provider) = (Column("BilledCost", true), Column("BillingCurrency", true), Column("ChargePeriodStart", true), Column("ProviderName", true));
        var (category, xModel, sku, service) = (Column("ChargeCategory", false), Column("x_Model", false), Column("SkuId", false), Column("ServiceName", false));
        var lines = new Summer();
        var skipped = 0;
        for (var r = 1; r < rows.Count; r++)
        {
            var row = rows[r];
            var where = $"row {r + 1}";
            if (row.Count != header.Count) throw new BillFileException($"{where} has {row.Count} fields; the header has {header.Count}");
            if (category >= 0 && !string.Equals(row[category], "Usage", StringComparison.Ordinal))
            {
                skipped++;
                continue;
            }
            var model = new[] { xModel, sku, service }.Where(i => i >= 0).Select(i => row[i]).FirstOrDefault(v => v.Length > 0) ?? "";
            lines.Add(where, Provider(row[provider], where), model, "", Day(row[start], where), Nanos(row[cost], where, "BilledCost"), Currency(row[currency], where));
        }
        return lines.ToBill(skipped);
    }

    /// <summary>The OpenAI organization costs JSON (GET /v1/organization/costs, bucket_width=1d, group_by=line_item): a page
    /// {"data": [bucket...]} or an array of pages; each bucket's results carry amount {value, currency} and line_item
    /// ("gpt-4o-2024-08-06, input"), whose model is the part before the last ", " and kind the part after.</summary>
    public static ParsedBill ReadOpenAi(string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new BillFileException("the file is not JSON: " + e.Message);
        }
        using (document)
        {
            var lines = new Summer();
            var pages = document.RootElement.ValueKind == JsonValueKind.Array ? [.. document.RootElement.EnumerateArray()] : new[] { document.RootElement };
            for (var p = 0; p < pages.Length; p++)
            {
                if (pages[p].ValueKind != JsonValueKind.Object || !pages[p].TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
                    throw new BillFileException($"page {p + 1} has no \"data\" array of buckets");
                var b = 0;
                foreach (var bucket in data.EnumerateArray())
                {
                    var where = $"page {p + 1} bucket {++b}";
                    var startSeconds = Long(bucket, "start_time", where);
                    var endSeconds = Long(bucket, "end_time", where);
                    if (endSeconds - startSeconds != DayMs / 1000 || startSeconds % (DayMs / 1000) != 0)
                        throw new BillFileException($"{where} is not one UTC day (start_time {startSeconds}, end_time {endSeconds}): export with bucket_width=1d");
                    if (!bucket.TryGetProperty("results", out var results) || results.ValueKind != JsonValueKind.Array)
                        throw new BillFileException($"{where} has no \"results\" array");
                    var i = 0;
                    foreach (var result in results.EnumerateArray())
                    {
                        var at = $"{where} result {++i}";
                        if (!result.TryGetProperty("amount", out var amount) || amount.ValueKind != JsonValueKind.Object
                            || !amount.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Number)
                            throw new BillFileException($"{at} has no amount.value number");
                        var currency = amount.TryGetProperty("currency", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
                        if (!result.TryGetProperty("line_item", out var item) || item.ValueKind != JsonValueKind.String)
                            throw new BillFileException($"{at} has no line_item: export with group_by=line_item");
                        var lineItem = item.GetString()!;
                        var comma = lineItem.LastIndexOf(", ", StringComparison.Ordinal);
                        var (model, kind) = comma < 0 ? (lineItem, "") : (lineItem[..comma], lineItem[(comma + 2)..].Trim().Replace(' ', '_').ToLowerInvariant());
                        lines.Add(at, OpenAi, model, kind, startSeconds * 1000, Nanos(value.GetRawText(), at, "amount.value"), Currency(currency, at));
                    }
                }
            }
            return lines.ToBill(0);
        }
    }

    private static long Long(JsonElement e, string name, string where) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) && n >= 0
            ? n
            : throw new BillFileException($"{where} has no {name} (Unix seconds)");

    private static string Provider(string name, string where)
    {
        // Empty is kept: it matches commits without a provider label, as a FOCUS export of the ledger writes them.
        var provider = name.Trim().ToLowerInvariant();
        if (provider.Length > Limits.MaxLabelValueLength) throw new BillFileException($"{where}: ProviderName is longer than {Limits.MaxLabelValueLength} characters");
        return provider;
    }

    private static string Currency(string code, string where)
    {
        var currency = code.Trim().ToUpperInvariant();
        return Iso4217.Codes.Contains(currency) ? currency : throw new BillFileException($"{where}: currency '{Auth.AgentTenancy.Short(code)}' is not an ISO 4217 code");
    }

    /// <summary>An ISO 8601 time with its offset ("2026-11-03T00:00:00Z"), or a date, to the start of its UTC day.</summary>
    private static long Day(string text, string where)
    {
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            throw new BillFileException($"{where}: ChargePeriodStart '{Auth.AgentTenancy.Short(text)}' is not a date and time (ISO 8601, e.g. 2026-11-03T00:00:00Z)");
        var ms = time.ToUnixTimeMilliseconds();
        return ms < 0 ? throw new BillFileException($"{where}: ChargePeriodStart is before 1970") : ms - ms % DayMs;
    }

    /// <summary>A decimal amount to nanos, exactly; more than nine decimals round half away from zero.</summary>
    private static long Nanos(string text, string where, string field)
    {
        if (!decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var amount))
            throw new BillFileException($"{where}: {field} '{Auth.AgentTenancy.Short(text)}' is not a decimal number");
        var nanos = decimal.Round(amount * 1_000_000_000m, MidpointRounding.AwayFromZero);
        return Math.Abs(nanos) <= Limits.MaxLimitNanos ? (long)nanos : throw new BillFileException($"{where}: {field} {text} is out of range");
    }

    /// <summary>Sums rows per (provider, model, kind, day), checks one currency per file and the line limit.</summary>
    private sealed class Summer
    {
        private readonly SortedDictionary<(string Provider, string Model, string Kind, long Day), long> _sums = [];
        private string? _currency;

        public void Add(string where, string provider, string model, string kind, long day, long nanos, string currency)
        {
            if (model.Length > Limits.MaxModelNameLength) throw new BillFileException($"{where}: the model name is longer than {Limits.MaxModelNameLength} characters");
            if (kind.Length > Limits.MaxOutcomeLength) throw new BillFileException($"{where}: the line item kind is longer than {Limits.MaxOutcomeLength} characters");
            _currency ??= currency;
            if (_currency != currency) throw new BillFileException($"{where}: currency {currency}, where the file's earlier rows are in {_currency}; import one currency per file");
            var key = (provider, model, kind, day);
            var sum = _sums.GetValueOrDefault(key) + nanos;
            if (Math.Abs(sum) > Limits.MaxLimitNanos) throw new BillFileException($"{where}: the day's cost for {model} is out of range");
            _sums[key] = sum;
            if (_sums.Count > Limits.MaxBillLines)
                throw new BillFileException($"more than {Limits.MaxBillLines} cost lines (provider, model, kind, day): split the file");
        }

        public ParsedBill ToBill(int skipped)
        {
            if (_currency is null) throw new BillFileException("the file has no cost rows");
            return new ParsedBill([.. _sums.Select(s => new BillLine(s.Key.Provider, s.Key.Model, s.Key.Kind, s.Key.Day, s.Value))], _currency, skipped);
        }
    }
}

/// <summary>RFC 4180 CSV read into rows of fields (quoted fields, doubled quotes, CRLF or LF line ends; a final line end optional).</summary>
internal static class CsvReader
{
    public static List<List<string>> Read(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        var start = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0; // a byte order mark, as spreadsheet exports write one
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"') field.Append(text[++i]);
                else quoted = false;
            }
            else if (c == '"' && field.Length == 0) quoted = true;
            else if (c == ',') row.Add(Take(field));
            else if (c == '\n' || (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n'))
            {
                if (c == '\r') i++;
                row.Add(Take(field));
                rows.Add(row);
                row = [];
            }
            else field.Append(c);
        }
        if (quoted) throw new BillFileException($"row {rows.Count + 1} has a quote that is never closed");
        if (field.Length > 0 || row.Count > 0)
        {
            row.Add(Take(field));
            rows.Add(row);
        }
        return rows;
    }

    private static string Take(System.Text.StringBuilder field)
    {
        var value = field.ToString();
        field.Clear();
        return value;
    }
}
