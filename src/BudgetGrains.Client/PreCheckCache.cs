using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Client;

/// <summary>
/// The local pre-check cache (docs/decisions/0012): per enabled chain, the statuses an Admission.WatchBudgets stream
/// sends; and this client's own reserves and commits that may not be in those statuses yet, subtracted at once.
/// </summary>
/// <remarks>
/// An own call stops counting against a chain once the chain's statuses include it for sure: its answer carried a
/// status mark and the stream's current mark is larger, or it finished before the chain's current stream was opened
/// (every status of that stream was read after the stream's request, so after the call). Until then it counts with
/// its worst effect: a reserve its estimate (the hold), a commit its overage (or the whole actual when it may have
/// come after the hold expired). Releases only give money back, so they are never counted: the cache learns of them
/// from the stream. Everything is guarded by one lock; nothing here does I/O under it.
/// </remarks>
internal sealed class PreCheckCache : IDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, ChainWatch> _chains = new(StringComparer.Ordinal);
    private readonly HashSet<OwnCall> _calls = [];
    private readonly V1.Admission.AdmissionClient _admission;
    private readonly BudgetClientOptions _options;
    private readonly ILogger _logger;

    /// <summary>Orders own calls and stream openings as this client saw them happen.</summary>
    private long _sequence;
    private bool _disposed;

    public PreCheckCache(V1.Admission.AdmissionClient admission, BudgetClientOptions options, ILogger logger) =>
        (_admission, _options, _logger) = (admission, options, logger);

    /// <summary>The key of an attribution's chain: the scope fields, not the labels.</summary>
    public static string KeyOf(Attribution a) =>
        string.Join('\n', a.Tenant, a.Feature, a.Agent, a.Task, a.Team, a.CostCenter, string.Join(',', a.Budgets));

    public void Enable(string key, V1.Attribution attribution)
    {
        ChainWatch watch;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_chains.ContainsKey(key)) return;
            if (_chains.Count >= _options.MaxPreCheckChains)
                throw new InvalidOperationException(
                    $"the pre-check cache is enabled for {_chains.Count} chains, the most BudgetClientOptions.MaxPreCheckChains allows; disable one first");
            _chains[key] = watch = new ChainWatch(attribution);
        }
        // Runs until the chain is disabled or the client disposed; it handles its own failures.
        _ = Task.Run(() => WatchAsync(watch));
    }

    public void Disable(string key)
    {
        lock (_lock)
        {
            if (!_chains.Remove(key, out var watch)) return;
            watch.Stop.Cancel();
            Prune();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var watch in _chains.Values) watch.Stop.Cancel();
            _chains.Clear();
            _calls.Clear();
        }
    }

    /// <summary>Would the budgets of the chain hold <paramref name="estimateNanos"/> more? No I/O.</summary>
    public PreCheckResult Evaluate(string key, long estimateNanos)
    {
        lock (_lock)
        {
            if (!_chains.TryGetValue(key, out var watch)) return PreCheckResult.Unknown(PreCheckUnknownReason.NotEnabled);
            if (!watch.Synced) return PreCheckResult.Unknown(PreCheckUnknownReason.NotSynced);
            var age = watch.Age();
            if (age > _options.PreCheckStaleAfter) return PreCheckResult.Unknown(PreCheckUnknownReason.Stale) with { Age = age };

            var remaining = long.MaxValue;
            (DenyReason Reason, string Scope)? denied = null;
            foreach (var scope in watch.Chain)
            {
                var status = watch.Statuses[scope];
                if (UnconfirmedOwnSpend(watch, scope) is not { } own) return PreCheckResult.Unknown(PreCheckUnknownReason.OwnCallPending);
                if (status.Frozen) denied ??= (DenyReason.Frozen, scope);
                if (status.LimitNanos == 0) continue;
                var left = (Int128)status.LimitNanos - status.SpentNanos - status.HeldNanos - own;
                remaining = (long)Int128.Min(remaining, Int128.Max(0, left));
                if (left < estimateNanos) denied ??= (DenyReason.BudgetExhausted, scope);
            }
            // A reserve walks the whole chain first, then asks the task scope; an ended task denies there.
            if (denied is null && watch.Chain.FirstOrDefault(s => watch.Statuses[s].Ended) is { } ended) denied = (DenyReason.TaskEnded, ended);
            long? reported = remaining == long.MaxValue ? null : remaining;
            return denied is { } d
                ? new PreCheckResult(PreCheckVerdict.Denied, d.Reason, d.Scope, reported, age)
                : new PreCheckResult(PreCheckVerdict.Fits, null, null, reported, age);
        }
    }

    /// <summary>
    /// What this client's own calls may have taken from <paramref name="scope"/> that the chain's statuses may not
    /// include; null when one of them has an amount not known yet.
    /// </summary>
    private long? UnconfirmedOwnSpend(ChainWatch watch, string scope)
    {
        long sum = 0;
        foreach (var call in _calls)
        {
            if (IsIncluded(call, watch) || !MayTouch(call, scope)) continue;
            if (call.Amount is not { } amount) return null;
            sum += amount;
        }
        return sum;
    }

    /// <summary>A call of an attribution whose chain is watched touches that chain; any other call may touch any scope.</summary>
    private bool MayTouch(OwnCall call, string scope) =>
        call.ChainKey is null || !_chains.TryGetValue(call.ChainKey, out var own) || !own.Synced || own.Chain.Contains(scope);

    /// <summary>Whether the statuses of <paramref name="watch"/>'s current stream include the call for sure.</summary>
    private static bool IsIncluded(OwnCall call, ChainWatch watch) =>
        call.DoneAt is { } done && (done < watch.StreamOpenedAt || (call.Mark is { } mark && watch.Synced && watch.Mark > mark));

    /// <summary>An own reserve or commit is about to be sent; <paramref name="amount"/> is its worst effect, null when unknown.</summary>
    public OwnCall Begin(string? chainKey, long? amount)
    {
        lock (_lock)
        {
            var call = new OwnCall(chainKey, ++_sequence) { Amount = amount };
            if (!_disposed) _calls.Add(call);
            return call;
        }
    }

    /// <summary>The call took effect; <paramref name="amount"/> is what it took from each scope of its chain (0: nothing).</summary>
    public void Applied(OwnCall call, long amount, long statusMark)
    {
        lock (_lock)
        {
            call.DoneAt = ++_sequence;
            call.Amount = amount;
            if (statusMark > 0)
            {
                call.Mark = statusMark;
                // A call that failed before this one was sent is in the statuses once this one is.
                foreach (var failed in _calls)
                    if (failed.Mark is null && failed.DoneAt < call.SentAt) failed.Mark = statusMark;
            }
            if (amount == 0) _calls.Remove(call);
            Prune();
        }
    }

    /// <summary>The call took no effect (a deny, or the server refused the request).</summary>
    public void NoEffect(OwnCall call)
    {
        lock (_lock)
        {
            _calls.Remove(call);
        }
    }

    /// <summary>The call failed without an answer: it may have taken effect, with its worst effect.</summary>
    public void Failed(OwnCall call)
    {
        lock (_lock)
        {
            call.DoneAt = ++_sequence;
            Prune();
        }
    }

    /// <summary>Forgets the finished calls that every open stream's statuses include (and those of a stream opened later will).</summary>
    private void Prune() => _calls.RemoveWhere(call => call.DoneAt is not null && _chains.Values.All(watch => IsIncluded(call, watch)));

    private async Task WatchAsync(ChainWatch watch)
    {
        var request = new V1.WatchBudgetsRequest { Attribution = watch.Attribution };
        var stop = watch.Stop.Token;
        for (var failures = 0; !stop.IsCancellationRequested;)
        {
            using (var stream = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                lock (_lock) watch.Open(++_sequence);
                try
                {
                    // A stream that sends nothing for the staleness bound is stuck (the silo sends heartbeats): open another.
                    stream.CancelAfter(_options.PreCheckStaleAfter);
                    using var call = _admission.WatchBudgets(request, new CallOptions(cancellationToken: stream.Token));
                    await foreach (var update in call.ResponseStream.ReadAllAsync(stream.Token).ConfigureAwait(false))
                    {
                        stream.CancelAfter(_options.PreCheckStaleAfter);
                        lock (_lock)
                        {
                            watch.Apply(update);
                            Prune();
                        }
                        failures = 0;
                    }
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    _logger.LogDebug(e, "BudgetGrains pre-check stream of chain {Chain} ended; reconnecting", watch.Attribution);
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    // Disabled or disposed.
                }
                finally
                {
                    lock (_lock)
                    {
                        watch.Close();
                        Prune();
                    }
                }
            }
            if (stop.IsCancellationRequested) break;
            failures++;
            var bound = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30)));
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * bound), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        watch.Stop.Dispose();
    }

    /// <summary>One of this client's reserves or commits, from the moment it is sent until the statuses include it.</summary>
    internal sealed class OwnCall(string? chainKey, long sentAt)
    {
        /// <summary>The chain key of its attribution; null when not known (a commit by reservation id).</summary>
        public string? ChainKey { get; } = chainKey;

        public long SentAt { get; } = sentAt;

        /// <summary>When its answer (or failure) came; null while in flight.</summary>
        public long? DoneAt { get; set; }

        /// <summary>What it may take from each scope of its chain; null when not known yet.</summary>
        public long? Amount { get; set; }

        /// <summary>Statuses read after this mark include it: its answer's, or a later call's when it failed.</summary>
        public long? Mark { get; set; }
    }

    /// <summary>One enabled chain and what its current stream has said.</summary>
    private sealed class ChainWatch(V1.Attribution attribution)
    {
        public V1.Attribution Attribution { get; } = attribution;

        public CancellationTokenSource Stop { get; } = new();

        /// <summary>Sequence number of the current stream's opening; long.MaxValue while none is open (the next one will
        /// be opened after every call finished so far).</summary>
        public long StreamOpenedAt { get; private set; } = long.MaxValue;

        /// <summary>The current stream sent its first update, and every scope of its chain has a status.</summary>
        public bool Synced { get; private set; }

        public IReadOnlyList<string> Chain { get; private set; } = [];

        public Dictionary<string, V1.BudgetStatus> Statuses { get; } = new(StringComparer.Ordinal);

        /// <summary>The current stream's current_as_of_mark.</summary>
        public long Mark { get; private set; }

        private long _firstMark;
        private long _openedTimestamp;

        public void Open(long sequence)
        {
            (StreamOpenedAt, _openedTimestamp, Synced) = (sequence, Stopwatch.GetTimestamp(), false);
            Statuses.Clear();
        }

        public void Apply(V1.BudgetWatchUpdate update)
        {
            var first = !Synced && Statuses.Count == 0;
            if (first) _firstMark = update.CurrentAsOfMark;
            if (update.Chain.Count > 0) Chain = [.. update.Chain];
            foreach (var status in update.Budgets) Statuses[status.Scope] = status;
            foreach (var gone in Statuses.Keys.Where(s => !Chain.Contains(s)).ToList()) Statuses.Remove(gone);
            Mark = update.CurrentAsOfMark;
            Synced = Chain.Count > 0 && Chain.All(Statuses.ContainsKey);
        }

        public void Close() => (StreamOpenedAt, Synced) = (long.MaxValue, false);

        /// <summary>
        /// An upper bound of the age of the oldest status: the silo read every status of the chain after its clock showed
        /// <see cref="Mark"/>, which is (Mark − first mark) after the first update's mark, itself after the request that
        /// this client sent when it opened the stream. Assumes the two clocks run at the same rate.
        /// </summary>
        public TimeSpan Age()
        {
            var age = Stopwatch.GetElapsedTime(_openedTimestamp) - TimeSpan.FromTicks((Mark - _firstMark) / 100);
            return age > TimeSpan.Zero ? age : TimeSpan.Zero;
        }
    }
}
