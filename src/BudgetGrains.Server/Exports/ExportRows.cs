using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BudgetGrains.Grains.Meters;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Money = BudgetGrains.Client.Money;

namespace BudgetGrains.Server.Exports;

/// <summary>How export rows are written: a header line (CSV) and one line per row, appended to a buffer.</summary>
internal abstract class RowFormat<TRow>
{
    public abstract string ContentType { get; }

    /// <summary>The file's first line, or null (JSON lines have none).</summary>
    public abstract string? Header { get; }

    public abstract void Write(TRow row, ArrayBufferWriter<byte> output);
}

/// <summary>
/// RFC 4180 CSV: fields separated by commas, lines by CRLF, a field with a comma, quote or line break quoted with its
/// quotes doubled. Values are written as they are (a label "=1+1" stays "=1+1"): an export is data, not a spreadsheet.
/// </summary>
internal static class Csv
{
    public const string ContentType = "text/csv; charset=utf-8";

    public static string Line(IEnumerable<string> fields)
    {
        var line = new StringBuilder();
        foreach (var field in fields)
        {
            if (line.Length > 0) line.Append(',');
            if (field.AsSpan().IndexOfAny(",\"\r\n") < 0)
            {
                line.Append(field);
            }
            else
            {
                line.Append('"').Append(field.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
        }
        return line.Append("\r\n").ToString();
    }

    public static void Append(ArrayBufferWriter<byte> output, string line) => Encoding.UTF8.GetBytes(line, output);
}

/// <summary>Values as the export formats write them.</summary>
internal static class ExportValues
{
    public const string JsonLinesContentType = "application/x-ndjson";

    /// <summary>Labels and messages stay readable in JSON (no \u escapes of quotes, +, non-ASCII); the lines are data, not HTML.</summary>
    public static readonly JsonWriterOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    /// <summary>ISO 8601 in UTC with milliseconds: "2026-11-03T10:15:00.123Z".</summary>
    public static string Time(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>An amount in currency units with all nine decimals of nanos: "0.042000000".</summary>
    public static string Decimal(long nanos) => Money.ToDollars(nanos).ToString("0.000000000", CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The first scope of a kind in a chain (its key), "" when the chain has none.</summary>
    public static string KeyOf(IReadOnlyList<string> chain, string kind)
    {
        foreach (var scope in chain)
            if (scope.Length > kind.Length && scope.StartsWith(kind, StringComparison.Ordinal) && scope[kind.Length] == '/')
                return scope[(kind.Length + 1)..];
        return "";
    }

    /// <summary>The model of a commit: the one its usage was priced with, else its "model" label (as the reports read it).</summary>
    public static string Model(LedgerEntry e) => e.Model.Length > 0 ? e.Model : e.Labels.GetValueOrDefault("model", "");

    public static string Provider(LedgerEntry e) => e.Labels.GetValueOrDefault("provider", "");
}

/// <summary>A format of ledger rows, which also writes each commit's meters (docs/decisions/0039): the exporter reads
/// them once per page and sets them here before it writes the page's rows.</summary>
internal abstract class LedgerRowFormat : RowFormat<SequencedCommit>
{
    private static readonly Dictionary<string, IReadOnlyList<MeterCharge>> NoMeters = [];

    public IReadOnlyDictionary<string, IReadOnlyList<MeterCharge>> PageMeters { get; set; } = NoMeters;

    protected IReadOnlyList<MeterCharge> MetersOf(LedgerEntry e) => PageMeters.GetValueOrDefault(e.ReservationId) ?? [];

    /// <summary>A commit's meters as one JSON array (a CSV column): [{"meter": "gpu_seconds", "quantity": 3600, "nanos": 1800000}].</summary>
    protected string MetersJson(LedgerEntry e)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, ExportValues.Json)) WriteMeters(json, null, e);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    protected void WriteMeters(Utf8JsonWriter json, string? name, LedgerEntry e)
    {
        if (name is null) json.WriteStartArray();
        else json.WriteStartArray(name);
        foreach (var charge in MetersOf(e))
        {
            json.WriteStartObject();
            json.WriteString("meter", charge.Meter);
            json.WriteNumber("quantity", charge.Quantity);
            json.WriteNumber("nanos", charge.Nanos);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}

/// <summary>The ledger's own columns, one row per commit, as CSV or JSON lines.</summary>
internal sealed class LedgerRows(bool jsonLines) : LedgerRowFormat
{
    private static readonly string[] Columns =
    [
        "seq", "committed_at", "reserved_at", "reservation_id", "tenant", "feature", "agent", "task", "team", "cost_center", "model",
        "provider", "outcome", "estimate_nanos", "actual_nanos", "input_tokens", "cached_input_tokens", "output_tokens",
        "reasoning_tokens", "late", "overage", "chain", "labels", "meters",
    ];

    public override string ContentType => jsonLines ? ExportValues.JsonLinesContentType : Csv.ContentType;

    public override string? Header => jsonLines ? null : Csv.Line(Columns);

    public override void Write(SequencedCommit row, ArrayBufferWriter<byte> output)
    {
        var e = row.Entry;
        string[] chainKeys = [.. new[] { ScopeIds.Tenant, ScopeIds.Feature, ScopeIds.Agent, ScopeIds.Task, ScopeIds.Team, ScopeIds.CostCenter }
            .Select(kind => ExportValues.KeyOf(e.Chain, kind))];
        if (!jsonLines)
        {
            Csv.Append(output, Csv.Line([
                ExportValues.Number(row.Seq), ExportValues.Time(e.CommittedAtUnixMs), ExportValues.Time(e.ReservedAtUnixMs), e.ReservationId,
                .. chainKeys, ExportValues.Model(e), ExportValues.Provider(e), e.Outcome, ExportValues.Number(e.EstimateNanos),
                ExportValues.Number(e.ActualNanos), ExportValues.Number(e.InputTokens), ExportValues.Number(e.CachedInputTokens),
                ExportValues.Number(e.OutputTokens), ExportValues.Number(e.ReasoningTokens), e.Late ? "true" : "false", e.Overage ? "true" : "false",
                string.Join(' ', e.Chain), LabelsJson(e.Labels), MetersJson(e),
            ]));
            return;
        }

        using (var json = new Utf8JsonWriter(output, ExportValues.Json))
        {
            json.WriteStartObject();
            json.WriteNumber("seq", row.Seq);
            json.WriteString("committed_at", ExportValues.Time(e.CommittedAtUnixMs));
            json.WriteString("reserved_at", ExportValues.Time(e.ReservedAtUnixMs));
            json.WriteString("reservation_id", e.ReservationId);
            for (var i = 0; i < chainKeys.Length; i++) json.WriteString(Columns[4 + i], chainKeys[i]);
            json.WriteString("model", ExportValues.Model(e));
            json.WriteString("provider", ExportValues.Provider(e));
            json.WriteString("outcome", e.Outcome);
            json.WriteNumber("estimate_nanos", e.EstimateNanos);
            json.WriteNumber("actual_nanos", e.ActualNanos);
            json.WriteNumber("input_tokens", e.InputTokens);
            json.WriteNumber("cached_input_tokens", e.CachedInputTokens);
            json.WriteNumber("output_tokens", e.OutputTokens);
            json.WriteNumber("reasoning_tokens", e.ReasoningTokens);
            json.WriteBoolean("late", e.Late);
            json.WriteBoolean("overage", e.Overage);
            json.WriteStartArray("chain");
            foreach (var scope in e.Chain) json.WriteStringValue(scope);
            json.WriteEndArray();
            WriteLabels(json, "labels", e.Labels);
            WriteMeters(json, "meters", e);
            json.WriteEndObject();
        }
        output.Write("\n"u8);
    }

    /// <summary>Labels as one JSON object, keys in order (so equal label sets are equal strings).</summary>
    public static string LabelsJson(IReadOnlyDictionary<string, string> labels)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, ExportValues.Json)) WriteLabels(json, null, labels);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteLabels(Utf8JsonWriter json, string? name, IReadOnlyDictionary<string, string> labels)
    {
        if (name is null) json.WriteStartObject();
        else json.WriteStartObject(name);
        foreach (var (key, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal)) json.WriteString(key, value);
        json.WriteEndObject();
    }
}

/// <summary>
/// The ledger as FOCUS-shaped CSV (docs/decisions/0035): the FOCUS specification's column names and meanings, one
/// charge per commit, costs as decimals of the billing currency. BudgetGrains prices calls at the catalog's list prices
/// and knows no discounts, so BilledCost, EffectiveCost, ListCost and ContractedCost are all the commit's actual amount.
/// Columns FOCUS leaves to the data generator are prefixed x_.
/// </summary>
internal sealed class FocusRows(string currency) : LedgerRowFormat
{
    public const string ServiceCategory = "AI and Machine Learning";

    public static readonly string[] Columns =
    [
        "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
        "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
        "ConsumedQuantity", "ConsumedUnit", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory",
        "ServiceName", "ResourceId", "ResourceName", "SkuId", "SubAccountId", "SubAccountName", "Tags",
        "x_Model", "x_Feature", "x_Outcome", "x_InputTokens", "x_CachedInputTokens", "x_OutputTokens", "x_ReasoningTokens", "x_Meters",
    ];

    public override string ContentType => Csv.ContentType;

    public override string? Header => Csv.Line(Columns);

    public override void Write(SequencedCommit row, ArrayBufferWriter<byte> output)
    {
        var e = row.Entry;
        var committed = DateTimeOffset.FromUnixTimeMilliseconds(e.CommittedAtUnixMs).UtcDateTime;
        var month = new DateTimeOffset(committed.Year, committed.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var hour = new DateTimeOffset(committed.Year, committed.Month, committed.Day, committed.Hour, 0, 0, TimeSpan.Zero);
        var cost = ExportValues.Decimal(e.ActualNanos);
        var tokens = ExportValues.Number(e.InputTokens + e.CachedInputTokens + e.OutputTokens + e.ReasoningTokens);
        var model = ExportValues.Model(e);
        var provider = ExportValues.Provider(e);
        var tenant = ExportValues.KeyOf(e.Chain, ScopeIds.Tenant);
        var feature = ExportValues.KeyOf(e.Chain, ScopeIds.Feature);
        Csv.Append(output, Csv.Line([
            cost, cost, cost, cost, currency, Time(month), Time(month.AddMonths(1)), Time(hour), Time(hour.AddHours(1)),
            "Usage", "", model.Length == 0 ? "Model call" : $"{model} call", "Usage-Based",
            tokens, "Tokens", tokens, "Tokens", provider, provider, ServiceCategory,
            model, e.ReservationId, model, model, tenant, tenant, TagsJson(e),
            model, feature, e.Outcome, ExportValues.Number(e.InputTokens), ExportValues.Number(e.CachedInputTokens),
            ExportValues.Number(e.OutputTokens), ExportValues.Number(e.ReasoningTokens), MetersJson(e),
        ]));
    }

    private static string Time(DateTimeOffset t) => ExportValues.Time(t.ToUnixTimeMilliseconds());

    /// <summary>FOCUS Tags: a JSON object of the commit's labels and the scopes of its chain by kind ("team": "search").</summary>
    private static string TagsJson(LedgerEntry e)
    {
        var tags = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in e.Labels) tags[key] = value;
        foreach (var scope in e.Chain)
        {
            var kind = ScopeIds.KindOf(scope);
            if (kind.Length > 0) tags.TryAdd(kind, scope[(kind.Length + 1)..]);
        }
        return LedgerRows.LabelsJson(tags);
    }
}

/// <summary>The usage table, one row per (scope, period, grouping, key), as CSV or JSON lines; then the usage per meter, one
/// row per (scope, period, meter) of grouping "meter", its quantity in the last column (0 in the token rows).</summary>
internal sealed class UsageRows(bool jsonLines) : RowFormat<KeyedUsage>
{
    private static readonly string[] Columns =
    [
        "scope", "period_start", "group_by", "key", "spent_nanos", "commits", "input_tokens", "cached_input_tokens", "output_tokens",
        "reasoning_tokens", "quantity",
    ];

    public override string ContentType => jsonLines ? ExportValues.JsonLinesContentType : Csv.ContentType;

    public override string? Header => jsonLines ? null : Csv.Line(Columns);

    public override void Write(KeyedUsage row, ArrayBufferWriter<byte> output)
    {
        var (w, t) = (row.Where, row.Totals);
        long[] numbers = [t.SpentNanos, t.Commits, t.InputTokens, t.CachedInputTokens, t.OutputTokens, t.ReasoningTokens, row.Quantity];
        if (!jsonLines)
        {
            Csv.Append(output, Csv.Line([w.Scope, ExportValues.Time(w.PeriodStartUnixMs), w.Dimension, w.Key, .. numbers.Select(ExportValues.Number)]));
            return;
        }

        using (var json = new Utf8JsonWriter(output, ExportValues.Json))
        {
            json.WriteStartObject();
            json.WriteString("scope", w.Scope);
            json.WriteString("period_start", ExportValues.Time(w.PeriodStartUnixMs));
            json.WriteString("group_by", w.Dimension);
            json.WriteString("key", w.Key);
            for (var i = 0; i < numbers.Length; i++) json.WriteNumber(Columns[4 + i], numbers[i]);
            json.WriteEndObject();
        }
        output.Write("\n"u8);
    }
}
