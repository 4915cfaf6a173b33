using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Server.Hosting;
using BudgetGrains.Server.Services;
using Google.Protobuf;

namespace BudgetGrains.Server.Alerts;

/// <summary>
/// POSTs each alert to a URL: the alert message as protobuf JSON (as the REST API and budgetctl --json write it), or a
/// Slack message with blocks. Any 2xx answer is a delivery; anything else, a redirect included, is a failed attempt.
/// The X-BudgetGrains-Alert-Id header lets a receiver drop repeats (delivery is at least once).
/// </summary>
internal sealed class WebhookSink : IAlertSink, IDisposable
{
    public const string AlertIdHeader = "X-BudgetGrains-Alert-Id";

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private readonly Uri _url;
    private readonly WebhookFormat _format;
    private readonly string _scopePrefix;
    private readonly HttpClient _http;

    public WebhookSink(WebhookOptions options, TimeSpan timeout)
    {
        (Name, _url, _format, _scopePrefix) = (options.SinkName, new Uri(options.Url), options.Format, options.ScopePrefix);
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = timeout,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("BudgetGrains", "1"));
    }

    public string Name { get; }

    public bool Accepts(string scope) => scope.StartsWith(_scopePrefix, StringComparison.Ordinal);

    public async Task DeliverAsync(StoredAlert alert, CancellationToken cancellationToken)
    {
        var body = _format == WebhookFormat.Slack ? SlackMessage(alert.Alert) : Formatter.Format(AlertMapping.ToProto(alert with { Deliveries = [] }));
        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(AlertIdHeader, AlertAdministration.FormatId(alert.Id));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            // The URL may carry a secret (Slack's do): errors name the host only.
            throw new HttpRequestException($"{_url.Scheme}://{_url.Authority} answered {(int)response.StatusCode} {response.ReasonPhrase}");
    }

    /// <summary>A Slack incoming-webhook message: the alert's line as text (notifications), and blocks: the line, then the
    /// scope, spent, limit, percent and period as fields.</summary>
    internal static string SlackMessage(AlertCandidate a)
    {
        var message = AlertText.Message(a);
        var fields = new List<(string Label, string Value)>
        {
            ("Scope", a.Scope),
            ("Spent", AlertText.Amount(a.SpentNanos, a)),
            ("Limit", a.LimitNanos == 0 ? "no limit" : AlertText.Amount(a.LimitNanos, a)),
            ("Percent", AlertText.Percent(a.SpentNanos, a.LimitNanos)),
            ("Period", AlertText.Period(a)),
        };
        if (a.Kind == AlertKind.Threshold) fields.Add(("Threshold", a.ThresholdPercent.ToString(CultureInfo.InvariantCulture) + "%"));
        if (a.Kind == AlertKind.Forecast) fields.Add(("Forecast", AlertText.Amount(a.ForecastNanos, a)));
        if (a.Kind == AlertKind.Velocity)
        {
            fields.Add(("Rate", AlertText.Amount(a.VelocityNanosPerMinute, a) + "/min"));
            fields.Add(("Baseline", AlertText.Amount(a.BaselineNanosPerMinute, a) + "/min"));
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("text", Escape(message));
            json.WriteStartArray("blocks");
            json.WriteStartObject();
            json.WriteString("type", "section");
            WriteText(json, "text", $"*Budget alert: {AlertText.Title(a)}*\n{Escape(message)}");
            json.WriteEndObject();
            json.WriteStartObject();
            json.WriteString("type", "section");
            json.WriteStartArray("fields");
            foreach (var (label, value) in fields)
            {
                json.WriteStartObject();
                json.WriteString("type", "mrkdwn");
                json.WriteString("text", $"*{label}*\n{Escape(value)}");
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());

        static void WriteText(Utf8JsonWriter json, string name, string markdown)
        {
            json.WriteStartObject(name);
            json.WriteString("type", "mrkdwn");
            json.WriteString("text", markdown);
            json.WriteEndObject();
        }
    }

    /// <summary>Slack's mrkdwn reserves &amp;, &lt; and &gt;.</summary>
    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    public void Dispose() => _http.Dispose();
}
