using BudgetGrains.Grains.Alerts;
using BudgetGrains.Server.Hosting;

namespace BudgetGrains.Server.Alerts;

/// <summary>Builds the configured sinks: the log first, then the webhooks in configuration order.</summary>
internal static class AlertSinkFactory
{
    /// <summary>The logger category of alert lines, so operators can route them (e.g. "Logging:LogLevel:BudgetGrains.Alerts").</summary>
    public const string LogCategory = "BudgetGrains.Alerts";

    public static AlertSinks Create(AlertOptions options, ILoggerFactory loggers)
    {
        var sinks = new List<IAlertSink>();
        if (options.Log) sinks.Add(new LogSink(loggers.CreateLogger(LogCategory)));
        sinks.AddRange(options.Webhooks.Select(w => new WebhookSink(w, options.WebhookTimeout)));
        return new AlertSinks(sinks, options.Policy());
    }
}

/// <summary>One log line per new alert (at warning level: an alert is what an operator should see).</summary>
internal sealed class LogSink(ILogger logger) : IAlertSink
{
    public string Name => AlertOptions.LogSinkName;

    public bool Accepts(string scope) => true;

    public Task DeliverAsync(StoredAlert alert, CancellationToken cancellationToken)
    {
        logger.LogWarning("Alert {AlertId} ({Title}): {Message}", alert.Id, AlertText.Title(alert.Alert), AlertText.Message(alert.Alert));
        return Task.CompletedTask;
    }
}
