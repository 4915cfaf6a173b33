using System.Text.Json.Serialization;

namespace BudgetGrains.Grains.Alerts;

/// <summary>The stored state contracts of the alert grains (sink outboxes).</summary>
[JsonSerializable(typeof(AlertSinkState))]
internal sealed partial class AlertStateJsonContext : JsonSerializerContext;
