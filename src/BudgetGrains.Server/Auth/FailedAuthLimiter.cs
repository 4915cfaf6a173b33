using System.Net;

namespace BudgetGrains.Server.Auth;

/// <summary>
/// Failed authentications per client address in fixed one-minute windows. Past the limit an address is refused
/// (RESOURCE_EXHAUSTED with a retry hint) until its window ends, before any key is verified, so guessing keys costs the
/// guesser time and the silo no KDF work. A call without any key is not a failure here (it costs nothing to refuse).
/// A window that is over is dropped when its address calls again, or when the map is full; with no window held, a call
/// takes no lock.
/// </summary>
internal sealed class FailedAuthLimiter(int maxFailuresPerMinute, TimeProvider clock)
{
    public const int DefaultMaxFailuresPerMinute = 20;

    /// <summary>Addresses tracked at once; when full, expired windows are dropped, and if none has, new addresses share
    /// one window (a flood from many addresses is limited as one).</summary>
    public const int MaxTrackedAddresses = 10_000;

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private static readonly IPAddress Overflow = IPAddress.None;

    private readonly Dictionary<IPAddress, (long StartMs, int Failures)> _windows = [];

    /// <summary>Windows held; read without the lock so that, with no failures at all, a call takes no lock.</summary>
    private volatile int _tracked;

    public int MaxFailuresPerMinute { get; } = maxFailuresPerMinute;

    /// <summary>How long the address must wait; null when it may try.</summary>
    public TimeSpan? Blocked(IPAddress address)
    {
        if (_tracked == 0) return null;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_windows)
        {
            if (!_windows.TryGetValue(address, out var window) && !(_windows.Count >= MaxTrackedAddresses && _windows.TryGetValue(Overflow, out window))) return null;
            var endsMs = window.StartMs + (long)Window.TotalMilliseconds;
            if (endsMs <= now)
            {
                // Over: forgotten, so that an address that stopped failing costs no lock again.
                if (_windows.Remove(address)) _tracked = _windows.Count;
                return null;
            }
            return window.Failures >= MaxFailuresPerMinute ? TimeSpan.FromMilliseconds(endsMs - now) : null;
        }
    }

    public void Failed(IPAddress address)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var windowMs = (long)Window.TotalMilliseconds;
        lock (_windows)
        {
            if (!_windows.ContainsKey(address) && _windows.Count >= MaxTrackedAddresses)
            {
                foreach (var expired in _windows.Where(w => w.Value.StartMs + windowMs <= now).Select(w => w.Key).ToList()) _windows.Remove(expired);
                if (_windows.Count >= MaxTrackedAddresses) address = Overflow;
            }
            _windows[address] = _windows.TryGetValue(address, out var window) && window.StartMs + windowMs > now
                ? (window.StartMs, window.Failures + 1)
                : (now, 1);
            _tracked = _windows.Count;
        }
    }
}
