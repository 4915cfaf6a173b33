using BudgetGrains.Grains.Alerts;
using BudgetGrains.Server.Alerts;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>Alerts as budget.v1 messages; the message text is built here, on the server, for every client alike.</summary>
internal static class AlertMapping
{
    public static V1.Alert ToProto(StoredAlert stored)
    {
        var a = stored.Alert;
        var alert = new V1.Alert
        {
            Id = AlertAdministration.FormatId(stored.Id),
            Kind = (V1.AlertKind)a.Kind,
            Scope = a.Scope,
            Period = (V1.Period)a.Period,
            PeriodStartUnixMs = a.PeriodStartUnixMs,
            ThresholdPercent = a.ThresholdPercent,
            SpentNanos = a.SpentNanos,
            LimitNanos = a.LimitNanos,
            Currency = a.Currency,
            FiredAtUnixMs = a.FiredAtUnixMs,
            Message = AlertText.Message(a),
            Acknowledged = stored.Acknowledged,
            AcknowledgedAtUnixMs = stored.AcknowledgedAtUnixMs,
            AcknowledgedBy = stored.AcknowledgedBy,
            ForecastNanos = a.ForecastNanos,
            VelocityNanosPerMinute = a.VelocityNanosPerMinute,
            BaselineNanosPerMinute = a.BaselineNanosPerMinute,
        };
        alert.Deliveries.AddRange(stored.Deliveries.Select(d => new V1.AlertDelivery
        {
            Sink = d.Sink,
            State = (V1.DeliveryState)d.State,
            Attempts = d.Attempts,
            NextAttemptUnixMs = d.NextAttemptUnixMs,
            UpdatedAtUnixMs = d.UpdatedAtUnixMs,
            LastError = d.LastError,
        }));
        return alert;
    }
}
