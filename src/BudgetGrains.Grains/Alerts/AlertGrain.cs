using System.Globalization;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Alerts;

/// <summary>One alert (key: its id), for what changes it after it fired: acknowledgement. Turns make "read, then write
/// if not acknowledged yet" atomic, so the first acknowledgement is the one kept.</summary>
public interface IAlertGrain : IGrainWithStringKey
{
    /// <summary>Acknowledges the alert (idempotent: once acknowledged, it stays as the first acknowledgement left it).</summary>
    Task<Result<StoredAlert>> AcknowledgeAsync(string by);
}

/// <summary>See <see cref="IAlertGrain"/>. Stateless: the acknowledgement lives in the alert's row.</summary>
[GrainType(AlertGrainTypes.Alert)]
internal sealed class AlertGrain(IAlertStore store, JournalService journal, TimeProvider clock) : Grain, IAlertGrain
{
    public async Task<Result<StoredAlert>> AcknowledgeAsync(string by)
    {
        // Nothing changes an alert but an acknowledgement, which happens once: the activation has no reason to stay.
        DeactivateOnIdle();
        var id = long.Parse(this.GetPrimaryKeyString(), NumberStyles.None, CultureInfo.InvariantCulture);
        if (await store.GetAsync(id, CancellationToken.None) is not { } alert) return Failure.NotFound($"no alert with id {id}");
        if (alert.Acknowledged) return alert;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        try
        {
            await journal.AppendAsync(new JournalWrite(new StateKey(AlertGrainTypes.Alert, this.GetPrimaryKeyString()), null, [new AlertAcknowledged(id, by, now)]));
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the acknowledgement could not be made durable; retry");
        }
        return alert with { AcknowledgedAtUnixMs = now, AcknowledgedBy = by };
    }
}

/// <summary>Grain type names of the alert grains.</summary>
public static class AlertGrainTypes
{
    public const string Sink = "alert-sink";
    public const string Alert = "alert";
}
