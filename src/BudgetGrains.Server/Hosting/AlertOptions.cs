using System.Security.Cryptography;
using System.Text;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Server.Hosting;

/// <summary>Where alerts are delivered and how hard to try ("BudgetGrains:Alerts"; see docs/configuration.md).</summary>
public sealed class AlertOptions
{
    /// <summary>The name of the log sink (reserved: no webhook may take it).</summary>
    public const string LogSinkName = "log";

    /// <summary>One log line per new alert.</summary>
    public bool Log { get; set; } = true;

    /// <summary>Webhooks to POST each alert to.</summary>
    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>Delay before the first retry; it doubles with each failed attempt up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = AlertDeliveryPolicy.Default.InitialDelay;

    public TimeSpan RetryMaxDelay { get; set; } = AlertDeliveryPolicy.Default.MaxDelay;

    /// <summary>Attempts before a delivery is given up (recorded as failed).</summary>
    public int MaxAttempts { get; set; } = AlertDeliveryPolicy.Default.MaxAttempts;

    /// <summary>An alert still undelivered at this age is given up after its next failed attempt.</summary>
    public TimeSpan MaxAge { get; set; } = AlertDeliveryPolicy.Default.MaxAge;

    /// <summary>How long one webhook POST may take.</summary>
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Delivery and WatchAlerts streams wake when an alert is persisted on this silo; they also look this often
    /// (alerts persisted elsewhere, a missed wake-up).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    public AlertDeliveryPolicy Policy() => new(RetryInitialDelay, RetryMaxDelay, MaxAttempts, MaxAge);

    /// <summary>Throws <see cref="InvalidOperationException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        const string section = SiloOptions.Section + ":Alerts:";
        if (Webhooks.Count + (Log ? 1 : 0) > Limits.MaxAlertSinks)
            throw new InvalidOperationException($"{section}Webhooks: at most {Limits.MaxAlertSinks} alert sinks, the log included");
        Positive(RetryInitialDelay, nameof(RetryInitialDelay));
        Positive(WebhookTimeout, nameof(WebhookTimeout));
        Positive(PollInterval, nameof(PollInterval));
        Positive(MaxAge, nameof(MaxAge));
        if (RetryMaxDelay < RetryInitialDelay)
            throw new InvalidOperationException($"{section}RetryMaxDelay ({RetryMaxDelay}) is shorter than RetryInitialDelay ({RetryInitialDelay})");
        if (MaxAttempts is < 1 or > Limits.MaxDeliveryAttempts)
            throw new InvalidOperationException($"{section}MaxAttempts must be between 1 and {Limits.MaxDeliveryAttempts}");
        var names = new HashSet<string>(StringComparer.Ordinal) { LogSinkName };
        for (var i = 0; i < Webhooks.Count; i++)
        {
            var webhook = Webhooks[i];
            var where = $"{section}Webhooks:{i}:";
            if (!Uri.TryCreate(webhook.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                throw new InvalidOperationException($"{where}Url must be an absolute http:// or https:// URL");
            if (webhook.SinkName.Length > MaxNameLength) throw new InvalidOperationException($"{where}Name: at most {MaxNameLength} characters");
            if (ScopeIds.ValidateKey(webhook.SinkName, "name") is { } why) throw new InvalidOperationException($"{where}Name: {why}");
            if (!names.Add(webhook.SinkName))
                throw new InvalidOperationException($"{where}Name '{webhook.SinkName}' is taken (\"{LogSinkName}\" and every other sink's name)");
            if (webhook.ScopePrefix.Length > Limits.MaxScopeIdLength)
                throw new InvalidOperationException($"{where}ScopePrefix: no scope id is longer than {Limits.MaxScopeIdLength} characters");
        }

        void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero) throw new InvalidOperationException($"{section}{name} must be positive");
        }
    }

    private const int MaxNameLength = 64;
}

/// <summary>How a webhook wants alerts: the alert as JSON, or a Slack message.</summary>
public enum WebhookFormat
{
    Json,
    Slack,
}

/// <summary>One webhook sink.</summary>
public sealed class WebhookOptions
{
    /// <summary>Names the sink's outbox; by default derived from the URL without revealing it ("slack-1a2b3c4d").</summary>
    public string? Name { get; set; }

    public string Url { get; set; } = "";

    public WebhookFormat Format { get; set; } = WebhookFormat.Json;

    /// <summary>Only alerts of scopes starting with this ("team/", "tenant/acme"); "" = all.</summary>
    public string ScopePrefix { get; set; } = "";

    /// <summary>The name its outbox is kept under: <see cref="Name"/>, or the format and a hash of the URL (a Slack URL is a
    /// secret, so it never appears in the store or the log).</summary>
    public string SinkName => Name is { Length: > 0 } name
        ? name
        : $"{Format.ToString().ToLowerInvariant()}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Url)))[..8]}";
}
