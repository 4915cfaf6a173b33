
using BudgetGrains.Grains.Alerts;

namespace BudgetGrains.Server.Alerts;

/// <summary>
/// Drives every sink's outbox (<see cref="IAlertSinkGrain"/>): one loop per sink, so a slow webhook delays only
/// itself. A loop runs a delivery pass, then sleeps until an alert is persisted on this silo, the next retry is due,
/// or the poll interval passes, whichever comes first.
/// </summary>
internal sealed class AlertDispatcher(IGrainFactory grains, AlertSinks sinks, AlertSignal signal, TimeProvider clock, TimeSpan pollInterval,
    ILogger logger) : IAsyncDisposable
{
    private readonly List<Task> _loops = [];

    /// <summary>Opens every outbox: a new sink's starts at the newest alert, so this comes before the silo takes traffic.</summary>
    public Task OpenAsync() => Task.WhenAll(sinks.All.Select(sink => grains.GetGrain<IAlertSinkGrain>(sink.Name).OpenAsync()));

    /// <summary>Starts one delivery loop per sink.</summary>
    public void Start()
    {
        foreach (var sink in sinks.All) _loops.Add(Task.Run(() => RunAsync(sink.Name)));
    }

    private async Task RunAsync(string sink)
    {
        var outbox = grains.GetGrain<IAlertSinkGrain>(sink);
        var stopping = sinks.Stopping;
        while (!stopping.IsCancellationRequested)
        {
            // Taken before the pass reads the store: an alert persisted during the pass wakes the next sleep at once.
            var persisted = signal.NextAsync(stopping);
            var sleep = pollInterval;
            try
            {
                var pass = await outbox.DeliverAsync();
                if (pass.MoreNow) continue;
                if (pass.NextAttemptUnixMs > 0)
                {
                    var untilRetry = TimeSpan.FromMilliseconds(Math.Max(0, pass.NextAttemptUnixMs - clock.GetUtcNow().ToUnixTimeMilliseconds()));
                    if (untilRetry < sleep) sleep = untilRetry;
                }
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                logger.LogWarning(e, "Alert sink {Sink}: a delivery pass failed; trying again in {Delay}", sink, pollInterval);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            await Task.WhenAny(persisted, Task.Delay(sleep, clock, stopping));
        }
    }

    /// <summary>Abandons deliveries in flight (they are retried after the restart) and waits for the loops to end.</summary>
    public async ValueTask DisposeAsync()
    {
        sinks.Stop();
        await Task.WhenAll(_loops);
    }
}
