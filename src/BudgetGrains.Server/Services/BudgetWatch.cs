using System.Diagnostics;

using BudgetGrains.Grains;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Scopes;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>
/// Points on the silo's monotonic clock, in nanoseconds. A Reserve or Commit answer carries one taken after its grain
/// answered (its effect is on every scope of the chain); a watch update carries one taken before the statuses it vouches
/// for were read. Scope grains run one turn at a time, so a read that starts after a mark sees every change finished
/// before it: an update whose mark is larger than an answer's includes that answer's effect (docs/decisions/0012).
/// </summary>
internal static class StatusMarks
{
    /// <summary>The response trailer of Reserve and Commit answers that carries their mark.</summary>
    public const string Trailer = "budget-status-mark";

    private static readonly bool NanosecondTicks = Stopwatch.Frequency == 1_000_000_000;

    /// <summary>Adds the mark trailer to a Reserve or Commit answer; call once the grain has answered.</summary>
    public static T Stamp<T>(ServerCallContext context, T response)
    {
        context.ResponseTrailers.Add(Trailer, Now().ToString(System.Globalization.CultureInfo.InvariantCulture));
        return response;
    }

    public static long Now()
    {
        var ticks = Stopwatch.GetTimestamp();
        return NanosecondTicks ? ticks : (long)((Int128)ticks * 1_000_000_000 / Stopwatch.Frequency);
    }
}

/// <summary>
/// Serves WatchBudgets without touching the admission path: one loop reads the status of every watched scope (each
/// once, however many streams watch it) every interval, and wakes the streams, which send what changed. The scopes
/// admit as before; the only cost to them is one status read per interval while they are watched.
/// </summary>
internal sealed class BudgetWatchHub : IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly Dictionary<string, WatchedScope> _scopes = new(StringComparer.Ordinal);
    private readonly HashSet<Watcher> _watchers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _readNow = new(0, 1);

    /// <summary>Started by the first stream: a silo nobody watches runs no loop.</summary>
    private Task? _loop;

    /// <summary>The start mark of the latest stream to join: an early read reads the scopes last read before it.</summary>
    private long _freshAfter = long.MinValue;

    public BudgetWatchHub(IGrainFactory grains, TimeSpan interval, TimeSpan heartbeat, int maxStreams, ILogger logger)
    {
        ValidateSettings(interval, heartbeat, maxStreams);
        (_grains, _interval, Heartbeat, MaxStreams, _logger) = (grains, interval, heartbeat, maxStreams, logger);
    }

    /// <summary>Called before the silo opens anything. The errors name the settings: the executable prints them as one line.</summary>
    public static void ValidateSettings(TimeSpan interval, TimeSpan heartbeat, int maxStreams)
    {
        if (interval <= TimeSpan.Zero || interval > TimeSpan.FromDays(1))
            throw new InvalidOperationException($"BudgetGrains:BudgetWatchInterval is {interval}; it must be more than 0 and at most 1 day");
        if (heartbeat < interval || heartbeat > TimeSpan.FromDays(1))
            throw new InvalidOperationException($"BudgetGrains:BudgetWatchHeartbeat is {heartbeat}; it must be at least BudgetWatchInterval ({interval}) and at most 1 day");
        if (maxStreams < 1) throw new InvalidOperationException($"BudgetGrains:MaxBudgetWatchStreams is {maxStreams}; it must be at least 1");
    }

    public TimeSpan Heartbeat { get; }

    public int MaxStreams { get; }

    /// <summary>Cancelled when the silo stops: open streams end (UNAVAILABLE) so that the host can stop.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public void Stop() => _stopping.Cancel();

    public async ValueTask DisposeAsync()
    {
        Stop();
        Task? loop;
        lock (_lock) loop = _loop;
        if (loop is not null) await loop;
    }

    /// <summary>A new stream watching <paramref name="named"/> and their ancestors; RESOURCE_EXHAUSTED over the stream limit.</summary>
    public Watcher Join(IReadOnlyList<string> named)
    {
        var watcher = new Watcher(this, named, StatusMarks.Now());
        lock (_lock)
        {
            if (_watchers.Count >= MaxStreams)
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"this silo serves {MaxStreams} WatchBudgets streams at most; try again later"));
            _watchers.Add(watcher);
            foreach (var scope in named) Register(watcher, scope);
            _freshAfter = Math.Max(_freshAfter, watcher.StartMark);
            _loop ??= Task.Run(ReadLoopAsync);
        }
        ReadSoon();
        return watcher;
    }

    private void Leave(Watcher watcher)
    {
        lock (_lock)
        {
            if (!_watchers.Remove(watcher)) return;
            foreach (var scope in watcher.Registered) Unregister(scope);
            watcher.Registered.Clear();
        }
    }

    /// <summary>Wakes the read loop before its interval is up: a stream joined, or its chain gained a scope.</summary>
    private void ReadSoon()
    {
        try
        {
            _readNow.Release();
        }
        catch (SemaphoreFullException)
        {
            // A read is due already.
        }
    }

    /// <summary>
    /// Every interval, reads every watched scope; woken early (a stream joined, a chain gained a scope), reads only the
    /// scopes not read since the latest stream joined. Then wakes every stream.
    /// </summary>
    private async Task ReadLoopAsync()
    {
        var token = _stopping.Token;
        var nextFullRead = Stopwatch.GetTimestamp();
        while (!token.IsCancellationRequested)
        {
            bool woken;
            try
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextFullRead);
                woken = await _readNow.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            var full = !woken || Stopwatch.GetTimestamp() >= nextFullRead;
            if (full) nextFullRead = Stopwatch.GetTimestamp() + (long)(_interval.TotalSeconds * Stopwatch.Frequency);
            string[] scopes;
            Watcher[] watchers;
            lock (_lock)
            {
                scopes = full ? [.. _scopes.Keys] : [.. _scopes.Where(s => s.Value.ReadMark == long.MinValue || s.Value.ReadMark < _freshAfter).Select(s => s.Key)];
                watchers = [.. _watchers];
            }
            await Task.WhenAll(scopes.Select(ReadAsync));
            foreach (var watcher in watchers) watcher.Wake();
        }
    }

    private async Task ReadAsync(string scope)
    {
        // Before the read: the read then sees every change finished before the mark.
        var mark = StatusMarks.Now();
        V1.BudgetStatus status;
        try
        {
            status = ProtoMapping.ToStatus(await _grains.Scope(scope).GetStatusAsync());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The scope's status stays as it was, and so does its mark: the streams' marks stop advancing, which tells
            // their clients the statuses are getting old.
            _logger.LogDebug(e, "WatchBudgets could not read {Scope}", scope);
            return;
        }
        lock (_lock)
        {
            if (_scopes.TryGetValue(scope, out var watched)) (watched.Status, watched.ReadMark) = (status, mark);
        }
    }

    /// <summary>Counts the scope as watched by <paramref name="watcher"/>; true when nobody watched it before (it needs a read).</summary>
    private bool Register(Watcher watcher, string scope)
    {
        if (!watcher.Registered.Add(scope)) return false;
        var added = !_scopes.TryGetValue(scope, out var watched);
        if (added) _scopes[scope] = watched = new WatchedScope();
        watched!.Watchers++;
        return added;
    }

    private void Unregister(string scope)
    {
        if (_scopes.TryGetValue(scope, out var watched) && --watched.Watchers == 0) _scopes.Remove(scope);
    }

    /// <summary>
    /// What a stream sends next, or null: nothing changed and no heartbeat is due, or a scope of its chain has not been
    /// read since the stream started (its status, and so the rest of the chain, is not known yet).
    /// </summary>
    private V1.BudgetWatchUpdate? NextUpdate(Watcher watcher)
    {
        var unread = false;
        lock (_lock)
        {
            var chain = new List<string>(8);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var incomplete = false;
            foreach (var named in watcher.Named)
            {
                for (var scope = named; scope.Length > 0 && seen.Add(scope);)
                {
                    if (seen.Count > Limits.MaxWatchScopes)
                        throw new RpcException(new Status(StatusCode.ResourceExhausted,
                            $"the watched chain is longer than {Limits.MaxWatchScopes} scopes; check the parent links of {scope}"));
                    unread |= Register(watcher, scope);
                    chain.Add(scope);
                    var watched = _scopes[scope];
                    if (watched.Status is null || watched.ReadMark < watcher.StartMark)
                    {
                        incomplete = true;
                        break;
                    }
                    scope = watched.Status.Parent;
                }
            }
            foreach (var gone in watcher.Registered.Where(s => !seen.Contains(s)).ToList())
            {
                watcher.Registered.Remove(gone);
                Unregister(gone);
            }
            if (!incomplete) return watcher.Diff(chain, _scopes);
        }
        // A scope that joined the chain is read at once rather than at the next interval; one whose reads fail is not
        // retried before the interval.
        if (unread) ReadSoon();
        return null;
    }

    internal sealed class WatchedScope
    {
        public int Watchers;
        public V1.BudgetStatus? Status;
        public long ReadMark = long.MinValue;
    }

    /// <summary>One WatchBudgets stream: what it watches and what it has sent.</summary>
    internal sealed class Watcher(BudgetWatchHub hub, IReadOnlyList<string> named, long startMark) : IDisposable
    {
        // Not disposed: the read loop may still wake a stream that just ended, and a SemaphoreSlim holds nothing to free.
        private readonly SemaphoreSlim _wake = new(0, 1);
        private readonly Dictionary<string, V1.BudgetStatus> _sent = new(StringComparer.Ordinal);
        private List<string> _chain = [];
        private long _lastSentMark = long.MinValue;
        private long _lastSentAt;

        public IReadOnlyList<string> Named { get; } = named;

        /// <summary>Only statuses read after this mark may be sent: older ones could predate the client's request.</summary>
        public long StartMark { get; } = startMark;

        /// <summary>Scopes this stream counts as watched (guarded by the hub's lock).</summary>
        public HashSet<string> Registered { get; } = new(StringComparer.Ordinal);

        public void Wake()
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // The stream has not taken the previous wake yet; one is enough.
            }
        }

        /// <summary>Waits for the next read of the scopes, then returns the update to send, if any.</summary>
        public async Task<V1.BudgetWatchUpdate?> NextAsync(CancellationToken cancellationToken)
        {
            await _wake.WaitAsync(cancellationToken);
            return hub.NextUpdate(this);
        }

        internal V1.BudgetWatchUpdate? Diff(List<string> chain, Dictionary<string, WatchedScope> scopes)
        {
            var update = new V1.BudgetWatchUpdate { CurrentAsOfMark = long.MaxValue };
            foreach (var scope in chain)
            {
                var watched = scopes[scope];
                update.CurrentAsOfMark = Math.Min(update.CurrentAsOfMark, watched.ReadMark);
                if (!_sent.TryGetValue(scope, out var sent) || !sent.Equals(watched.Status))
                {
                    update.Budgets.Add(watched.Status);
                    _sent[scope] = watched.Status!;
                }
            }
            var chainChanged = !chain.SequenceEqual(_chain);
            if (chainChanged)
            {
                update.Chain.AddRange(chain);
                _chain = chain;
                foreach (var gone in _sent.Keys.Where(s => !chain.Contains(s)).ToList()) _sent.Remove(gone);
            }
            var heartbeatDue = Stopwatch.GetElapsedTime(_lastSentAt) >= hub.Heartbeat && update.CurrentAsOfMark > _lastSentMark;
            if (update.Budgets.Count == 0 && !chainChanged && !heartbeatDue) return null;
            (_lastSentMark, _lastSentAt) = (update.CurrentAsOfMark, Stopwatch.GetTimestamp());
            return update;
        }

        public void Dispose() => hub.Leave(this);
    }
}
