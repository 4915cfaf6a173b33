using System.Diagnostics;

namespace BudgetGrains.TestSupport;

/// <summary>
/// A clock the test moves by hand, good enough to be a whole silo's clock (Orleans' too): the wall clock stands still
/// until <see cref="Advance"/>, while timestamps and timers run on real time and jump forward with every Advance. A timer
/// whose due time an Advance passes fires at once (on a pool thread); Orleans' own timers keep ticking meanwhile.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _lock = new();
    private readonly HashSet<ManualTimer> _timers = [];
    private DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private long _offsetTimestampTicks;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp() => Stopwatch.GetTimestamp() + Interlocked.Read(ref _offsetTimestampTicks);

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward; every timer due by then fires.</summary>
    public void Advance(TimeSpan delta)
    {
        ManualTimer[] timers;
        lock (_lock)
        {
            _now += delta;
            Interlocked.Add(ref _offsetTimestampTicks, (long)(delta.Ticks * (Stopwatch.Frequency / (double)TimeSpan.TicksPerSecond)));
            timers = [.. _timers];
        }
        foreach (var timer in timers) timer.Rearm();
    }

    /// <summary>A real timer armed for the time left until its due timestamp on this clock.</summary>
    private sealed class ManualTimer : ITimer
    {
        private readonly ManualTimeProvider _owner;
        private readonly Timer _timer;
        private long _dueTimestamp;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;
        private bool _armed;

        public ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state)
        {
            _owner = owner;
            _timer = new Timer(_ =>
            {
                if (!Due()) return;
                callback(state);
            });
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_owner._lock)
            {
                _period = period;
                _armed = dueTime != Timeout.InfiniteTimeSpan;
                if (_armed)
                {
                    _dueTimestamp = _owner.GetTimestamp() + ToTimestampTicks(dueTime);
                    _owner._timers.Add(this);
                }
                else
                {
                    _owner._timers.Remove(this);
                }
            }
            Rearm();
            return true;
        }

        /// <summary>Re-arms the real timer for what is left until the due timestamp (nothing, after an Advance past it).</summary>
        public void Rearm()
        {
            lock (_owner._lock)
            {
                if (!_armed)
                {
                    _timer.Change(Timeout.Infinite, Timeout.Infinite);
                    return;
                }
                var left = Math.Max(0, _dueTimestamp - _owner.GetTimestamp());
                _timer.Change(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency), Timeout.InfiniteTimeSpan);
            }
        }

        /// <summary>True when this firing is due; a periodic timer then moves its due timestamp on by one period.</summary>
        private bool Due()
        {
            lock (_owner._lock)
            {
                if (!_armed) return false;
                if (_owner.GetTimestamp() < _dueTimestamp)
                {
                    Rearm();
                    return false;
                }
                if (_period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero)
                {
                    _armed = false;
                    _owner._timers.Remove(this);
                }
                else
                {
                    _dueTimestamp += ToTimestampTicks(_period);
                    Rearm();
                }
                return true;
            }
        }

        private static long ToTimestampTicks(TimeSpan span) => (long)(span.Ticks * (Stopwatch.Frequency / (double)TimeSpan.TicksPerSecond));

        public void Dispose()
        {
            lock (_owner._lock)
            {
                _armed = false;
                _owner._timers.Remove(this);
            }
            _timer.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
