using BudgetGrains.Grains;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Orleans.Runtime;

namespace BudgetGrains.Server.Hosting;

/// <summary>
/// In a cluster, when Orleans membership declares another silo dead: this silo's scope activations are fenced out (the
/// dead silo's reservations may have changed their memory without ever writing it; they reload from the store), and the
/// open holds are woken, so that the dead silo's reservations reactivate on a survivor and their expiry timers run
/// again. docs/decisions/0028-fencing.md.
/// </summary>
internal sealed class ClusterDeathWatch(IClusterMembershipService membership, ILocalSiloDetails local, IGrainFactory grains,
    ScopeActivations scopes, IBudgetStore store, ILogger<ClusterDeathWatch> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var dead = new HashSet<SiloAddress>();
        var first = true;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                var newlyDead = snapshot.Members.Values
                    .Where(m => m.Status == SiloStatus.Dead && !m.SiloAddress.Equals(local.SiloAddress) && dead.Add(m.SiloAddress))
                    .Select(m => m.SiloAddress).ToList();
                // The first snapshot lists silos that died before this one started: nothing of theirs is in this memory.
                if (first || newlyDead.Count == 0)
                {
                    first = false;
                    continue;
                }
                logger.LogWarning("Silo {Silos} declared dead: reloading {Count} scopes from the store and waking open holds",
                    string.Join(", ", newlyDead), scopes.Count);
                try
                {
                    await scopes.FenceOutAllAsync(grains);
                    var woken = await BudgetGrainsSetup.WakeOpenReservationsAsync(grains, store, keepsOpenHoldStates: false, stoppingToken);
                    logger.LogInformation("After the death of {Silos}: {Woken} open holds woken", string.Join(", ", newlyDead), woken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Reloading after the death of {Silos} failed", string.Join(", ", newlyDead));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
