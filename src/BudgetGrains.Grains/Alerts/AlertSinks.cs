namespace BudgetGrains.Grains.Alerts;

/// <summary>Somewhere alerts go: a webhook, the log. Each sink has its own outbox (see <see cref="IAlertSinkGrain"/>).</summary>
public interface IAlertSink
{
    /// <summary>Stable across restarts and configuration reorders: the sink's outbox is kept under it.</summary>
    string Name { get; }

    /// <summary>Whether alerts of <paramref name="scope"/> go to this sink.</summary>
    bool Accepts(string scope);

    /// <summary>Delivers one alert; completes when the receiver took it, throws (with a message worth recording) when not.</summary>
    Task DeliverAsync(StoredAlert alert, CancellationToken cancellationToken);
}

/// <summary>
/// Retry with exponential backoff, capped and jittered, and when to give up. The delay before attempt n+1 is
/// min(<see cref="MaxDelay"/>, <see cref="InitialDelay"/> × 2^(n-1)), scaled by a random factor in [0.5, 1) so that
/// many alerts failing together do not retry together.
/// </summary>
/// <param name="MaxAttempts">Attempts before a delivery is given up as failed.</param>
/// <param name="MaxAge">A delivery still failing when its alert is this old is given up as failed.</param>
public sealed record AlertDeliveryPolicy(TimeSpan InitialDelay, TimeSpan MaxDelay, int MaxAttempts, TimeSpan MaxAge)
{
    public static readonly AlertDeliveryPolicy Default = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 50, TimeSpan.FromDays(1));

    /// <param name="attempts">Attempts made so far (1 or more).</param>
    /// <param name="random">A sample of [0, 1).</param>
    public TimeSpan DelayAfter(int attempts, double random)
    {
        // Doubling stops at the cap before it could overflow: 2^62 ticks is far beyond any cap.
        var doubled = InitialDelay.Ticks * Math.Pow(2, Math.Min(attempts - 1, 62));
        var capped = Math.Min(doubled, MaxDelay.Ticks);
        return TimeSpan.FromTicks((long)(capped * (0.5 + random / 2)));
    }

    public bool GivesUp(int attempts, long alertAgeMs) => attempts >= MaxAttempts || alertAgeMs >= (long)MaxAge.TotalMilliseconds;
}

/// <summary>The configured sinks, the retry policy, and the token that stops deliveries in flight when the silo stops.</summary>
public sealed class AlertSinks : IDisposable
{
    private readonly Dictionary<string, IAlertSink> _byName;
    private readonly CancellationTokenSource _stopping = new();

    public AlertSinks(IReadOnlyList<IAlertSink> sinks, AlertDeliveryPolicy policy)
    {
        if (sinks.Count > Limits.MaxAlertSinks) throw new ArgumentException($"at most {Limits.MaxAlertSinks} alert sinks", nameof(sinks));
        All = sinks;
        Policy = policy;
        _byName = sinks.ToDictionary(s => s.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<IAlertSink> All { get; }

    public AlertDeliveryPolicy Policy { get; }

    /// <summary>Cancelled when the silo stops: deliveries in flight are abandoned (and retried after the restart).</summary>
    public CancellationToken Stopping => _stopping.Token;

    public IAlertSink? Find(string name) => _byName.GetValueOrDefault(name);

    public void Stop() => _stopping.Cancel();

    /// <summary>Releases the sinks' resources (their HTTP connections).</summary>
    public void Dispose()
    {
        foreach (var sink in All) (sink as IDisposable)?.Dispose();
        _stopping.Dispose();
    }
}
