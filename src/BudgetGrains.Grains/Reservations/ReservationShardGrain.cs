using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace BudgetGrains.Grains.Reservations;

/// <summary>
/// See <see cref="IReservationShardGrain"/>. Reentrant, so reservations of different ids interleave at their awaits
/// (a reserve waits for its chain and for the journal most of its time); calls of one id queue behind each other.
/// Every turn of an activation runs on one thread at a time, so the maps below need no locks.
/// </summary>
[GrainType(GrainTypes.ReservationShard)]
[Reentrant]
internal sealed class ReservationShardGrain(IGrainFactory grains, PriceCatalog prices, AlertSignal alertSignal, JournalService journal, TimeProvider clock,
    Settings.ScopeDefaults scopeDefaults, OpenHoldStates openHolds, ILogger<ReservationShardGrain> logger, Meters.MeterCatalog meters)
    : Grain, IReservationShardGrain, IReservationSchedule
{
    /// <summary>Expiries started by one timer tick; more due ones follow at once in the next tick.</summary>
    private const int ExpiriesPerTick = 1_000;

    private readonly ReservationServices _services = new(grains, prices, alertSignal, journal, clock, scopeDefaults, logger, meters);

    /// <summary>Reservations in memory: open holds, and any with a call running (at most <see cref="Limits.MaxReservationsPerShard"/>).</summary>
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Open holds by expiry time, and each one's time (to move or remove it).</summary>
    private readonly SortedSet<(long At, string Id)> _expiries = new();
    private readonly Dictionary<string, long> _expiryOf = new(StringComparer.Ordinal);

    private IGrainTimer _timer = null!;
    private long _timerAt = long.MaxValue;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Open holds live in this activation's memory and its timer expires them: it is not collected for idleness.
        DelayDeactivation(TimeSpan.MaxValue);
        _timer = this.RegisterGrainTimer(TickAsync,
            new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { Interleave = true, KeepAlive = true });
        // Where the store keeps open holds' states in its hold index, they are nowhere else: this shard has all of its
        // own before it answers, or it would take an open reservation for a new one. WakeAsync then loads them.
        if (!journal.KeepsOpenHoldStates) return;
        foreach (var hold in await openHolds.TakeAsync(this.GetPrimaryKeyString(), cancellationToken))
        {
            var reservation = new Reservation(hold.ReservationId, _services, this);
            reservation.Wake(hold.State);
            _entries[hold.ReservationId] = new Entry(reservation);
        }
    }

    public Task<Result<ReserveAnswer>> ReserveAsync(ReserveCommand command) => RunAsync(command.RequestId, r => r.ReserveAsync(command));

    public Task<Result<CommitAnswer>> CommitAsync(CommitCommand command) => RunAsync(command.ReservationId, r => r.CommitAsync(command));

    public Task<Result<ReleaseAnswer>> ReleaseAsync(string reservationId) => RunAsync(reservationId, r => r.ReleaseAsync());

    public async Task<int> WakeAsync(string[] reservationIds)
    {
        var ids = reservationIds.Union(_entries.Where(e => e.Value.Reservation.Waking).Select(e => e.Key), StringComparer.Ordinal).ToArray();
        var loads = ids.Select(id => RunAsync(id, _ => Task.FromResult(true))).ToArray();
        try
        {
            await Task.WhenAll(loads);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Shard {Shard}: {Failed} of {Count} open reservations could not be loaded; they load on their next call",
                this.GetPrimaryKeyString(), loads.Count(l => l.IsFaulted), loads.Length);
        }
        return loads.Count(l => l.IsCompletedSuccessfully);
    }

    /// <summary>Runs <paramref name="call"/> on reservation <paramref name="id"/> after the calls of that id before it, loading
    /// the reservation first if it is not in memory. A reservation that is not open afterwards is forgotten: it is durable,
    /// and a later call with its id reads it again.</summary>
    private async Task<T> RunAsync<T>(string id, Func<Reservation, Task<T>> call)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            if (_entries.Count >= Limits.MaxReservationsPerShard)
                throw new LimitExceededException($"{Limits.MaxReservationsPerShard} reservations are open on this request id's shard; " +
                    "commit or release holds, or retry when some have expired");
            entry = new Entry(new Reservation(id, _services, this));
            _entries.Add(id, entry);
        }
        if (entry.Calls >= Limits.MaxCallsPerRequestId)
            throw new LimitExceededException($"{Limits.MaxCallsPerRequestId} calls with request id '{id}' are waiting; retry later");
        var previous = entry.Tail;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        entry.Tail = done.Task;
        entry.Calls++;
        try
        {
            await previous;
            var reservation = entry.Reservation;
            if (!reservation.Loaded) await reservation.LoadAsync(CancellationToken.None);
            return await call(reservation);
        }
        finally
        {
            entry.Calls--;
            done.SetResult();
            var r = entry.Reservation;
            // A waking reservation whose load failed stays: its state may be nowhere but here.
            if (entry.Calls == 0 && !r.Waking && (!r.Loaded || !r.Open || r.FencedOut))
            {
                _entries.Remove(id);
                Cancel(id);
            }
        }
    }

    public void ExpireAt(string reservationId, long unixMs)
    {
        Cancel(reservationId);
        _expiries.Add((unixMs, reservationId));
        _expiryOf[reservationId] = unixMs;
        if (unixMs < _timerAt) ArmTimer(unixMs);
    }

    public void Cancel(string reservationId)
    {
        if (_expiryOf.Remove(reservationId, out var at)) _expiries.Remove((at, reservationId));
    }

    private void ArmTimer(long unixMs)
    {
        _timerAt = unixMs;
        var due = TimeSpan.FromMilliseconds(Math.Max(0, unixMs - clock.GetUtcNow().ToUnixTimeMilliseconds()));
        _timer.Change(due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Expires the holds that are due (each checks its own time again: a timer may fire early on a clock that was
    /// moved), then sets the timer for the next.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        _timerAt = long.MaxValue;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var due = new List<string>();
        foreach (var (at, id) in _expiries)
        {
            if (at > now || due.Count == ExpiriesPerTick) break;
            due.Add(id);
        }
        foreach (var id in due) Cancel(id);
        if (_expiries.Count > 0) ArmTimer(_expiries.Min.At);
        var expiries = due.Where(_entries.ContainsKey).Select(id => RunAsync(id, async r => { await r.ExpireAsync(); return true; })).ToArray();
        try
        {
            await Task.WhenAll(expiries);
        }
        catch (Exception e)
        {
            // Each expiry that could not be written scheduled its own retry; this is only the report.
            logger.LogWarning(e, "Shard {Shard}: {Failed} of {Count} due holds could not be expired yet", this.GetPrimaryKeyString(),
                expiries.Count(x => x.IsFaulted), expiries.Length);
        }
    }

    /// <summary>A reservation in memory, and the end of the queue of calls with its id.</summary>
    private sealed class Entry(Reservation reservation)
    {
        public Reservation Reservation { get; } = reservation;
        public Task Tail { get; set; } = Task.CompletedTask;
        public int Calls { get; set; }
    }
}
