using System.Diagnostics;
using BudgetGrains.Contracts.V1;
using Grpc.Core;
using AdmissionClient = BudgetGrains.Contracts.V1.Admission.AdmissionClient;

namespace BudgetGrains.Load;

/// <summary>What one caller saw while the run was measured; merged at the end.</summary>
internal sealed class CallerStats
{
    public LatencyHistogram Reserve { get; } = new();
    /// <summary>The commit or release that follows an admitted reserve.</summary>
    public LatencyHistogram Settle { get; } = new();
    public long Operations;
    public long Admitted;
    public long Denied;
    public long Errors;

    public void Add(CallerStats other)
    {
        Reserve.Add(other.Reserve);
        Settle.Add(other.Settle);
        Operations += other.Operations;
        Admitted += other.Admitted;
        Denied += other.Denied;
        Errors += other.Errors;
    }
}

/// <summary>
/// N callers in closed loop (each sends its next request when the previous answered), first warming up,
/// then measured until the duration, the count, or the open-holds budget runs out.
/// </summary>
internal sealed class LoadRun(LoadOptions options, TextWriter output, string runId, IReadOnlyList<AdmissionClient> clients, IReadOnlyList<Chain> chains)
{
    /// <summary>The estimate of every reserve, also the actual of every commit ($0.001).</summary>
    public const long EstimateNanos = 1_000_000;

    private readonly CallerStats[] _stats = Enumerable.Range(0, options.Callers).Select(_ => new CallerStats()).ToArray();
    private readonly List<string> _errorSamples = [];
    private volatile bool _recording;
    private volatile bool _stopping;
    private long _issued;
    private long _holdBudget = long.MaxValue;

    // Live totals for the progress line (the per-caller stats are only read at the end).
    private long _liveOperations;
    private long _liveAdmitted;
    private long _liveDenied;
    private long _liveErrors;

    public TimeSpan Elapsed { get; private set; }
    public TimeSpan CpuTime { get; private set; }
    public string StoppedBy { get; private set; } = "duration";
    public IReadOnlyList<string> ErrorSamples => _errorSamples;

    /// <summary>
    /// Reserve-only leaves every hold open, and a scope refuses more than Limits.MaxOpenHoldsPerScope open holds:
    /// stop before a shared scope reaches it, so the run measures admission and not that limit.
    /// </summary>
    public void LimitOpenHolds(long holds) => _holdBudget = holds;

    public CallerStats Total()
    {
        var total = new CallerStats();
        foreach (var s in _stats) total.Add(s);
        return total;
    }

    /// <summary>Runs warm-up and measurement; <paramref name="measuring"/> is told when measurement starts (true) and ends (false).</summary>
    public async Task RunAsync(Action<bool> measuring, CancellationToken cancellationToken)
    {
        var callers = new Task[options.Callers];
        for (var i = 0; i < callers.Length; i++)
        {
            var caller = i;
            callers[i] = Task.Run(() => CallerAsync(caller));
        }

        if (options.Warmup > TimeSpan.Zero) await Task.Delay(options.Warmup, cancellationToken);
        var process = Process.GetCurrentProcess();
        var cpuStart = process.TotalProcessorTime;
        measuring(true);
        var started = Stopwatch.GetTimestamp();
        _recording = true;
        using (var progress = new CancellationTokenSource())
        {
            var printer = PrintProgressAsync(started, progress.Token);
            var finished = Task.WhenAll(callers);
            await Task.WhenAny(finished, Task.Delay(options.Duration, cancellationToken));
            _stopping = true;
            await finished;
            Elapsed = Stopwatch.GetElapsedTime(started);
            process.Refresh();
            CpuTime = process.TotalProcessorTime - cpuStart;
            measuring(false);
            await progress.CancelAsync();
            await printer;
        }
    }

    private async Task CallerAsync(int caller)
    {
        var client = clients[caller % clients.Count];
        var chain = chains[caller % chains.Count];
        var stats = _stats[caller];
        var request = new ReserveRequest { Attribution = chain.Attribution, EstimateNanos = EstimateNanos };
        var check = new CheckRequest { Attribution = chain.Attribution, EstimateNanos = EstimateNanos };
        for (long seq = 0; !_stopping; seq++)
        {
            var recording = _recording;
            if (recording && options.Count is { } count && Interlocked.Increment(ref _issued) > count)
            {
                Stop("count");
                break;
            }
            if (options.Scenario == Scenario.Reserve && Interlocked.Decrement(ref _holdBudget) < 0)
            {
                Stop("open-holds limit");
                break;
            }
            try
            {
                if (options.Scenario == Scenario.Check)
                {
                    var start = Stopwatch.GetTimestamp();
                    var answer = await client.CheckAsync(check);
                    Record(stats, recording, start, answer.Decision == Decision.Admitted, stats.Reserve);
                    continue;
                }
                request.RequestId = $"{runId}-{caller}-{seq}";
                await ReserveAndSettleAsync(client, chain, stats, recording, request);
            }
            catch (RpcException e)
            {
                OnError(stats, recording, e);
            }
        }
    }

    private async Task ReserveAndSettleAsync(AdmissionClient client, Chain chain, CallerStats stats, bool recording, ReserveRequest request)
    {
        var start = Stopwatch.GetTimestamp();
        var reserved = await client.ReserveAsync(request);
        var admitted = reserved.Decision == Decision.Admitted;
        Record(stats, recording, start, admitted, stats.Reserve);
        if (!admitted) return;
        chain.OnAdmitted();
        var id = reserved.ReservationId;
        if (options.Scenario == Scenario.Reserve)
        {
            chain.OpenHolds.Enqueue(id);
            return;
        }
        start = Stopwatch.GetTimestamp();
        try
        {
            if (options.Scenario == Scenario.ReserveRelease)
            {
                await client.ReleaseAsync(new ReleaseRequest { ReservationId = id });
            }
            else
            {
                var committed = await client.CommitAsync(new CommitRequest { ReservationId = id, ActualNanos = EstimateNanos, Outcome = "resolved" });
                chain.OnCharged(committed.ChargedNanos);
            }
        }
        catch (RpcException)
        {
            // A failed settle changed nothing: the hold is still open and is released at the end.
            chain.OpenHolds.Enqueue(id);
            throw;
        }
        if (recording) stats.Settle.Record((long)Stopwatch.GetElapsedTime(start).TotalNanoseconds);
    }

    private void Record(CallerStats stats, bool recording, long start, bool admitted, LatencyHistogram histogram)
    {
        if (!recording) return;
        histogram.Record((long)Stopwatch.GetElapsedTime(start).TotalNanoseconds);
        stats.Operations++;
        Interlocked.Increment(ref _liveOperations);
        if (admitted)
        {
            stats.Admitted++;
            Interlocked.Increment(ref _liveAdmitted);
        }
        else
        {
            stats.Denied++;
            Interlocked.Increment(ref _liveDenied);
        }
    }

    private void OnError(CallerStats stats, bool recording, RpcException e)
    {
        if (recording) stats.Errors++;
        Interlocked.Increment(ref _liveErrors);
        lock (_errorSamples)
        {
            if (_errorSamples.Count < 5) _errorSamples.Add($"{e.StatusCode}: {e.Message}");
        }
    }

    private void Stop(string reason)
    {
        if (_stopping) return;
        StoppedBy = reason;
        _stopping = true;
    }

    private async Task PrintProgressAsync(long started, CancellationToken cancellationToken)
    {
        var process = Process.GetCurrentProcess();
        var (lastOps, lastCpu, lastAt) = (0L, process.TotalProcessorTime, Stopwatch.GetTimestamp());
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                process.Refresh();
                var (ops, cpu, now) = (Interlocked.Read(ref _liveOperations), process.TotalProcessorTime, Stopwatch.GetTimestamp());
                var seconds = Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds;
                output.WriteLine(
                    $"[{Stopwatch.GetElapsedTime(started, now).TotalSeconds,5:F1}s] {(ops - lastOps) / seconds,9:N0} ops/s  " +
                    $"admitted {Interlocked.Read(ref _liveAdmitted):N0}  denied {Interlocked.Read(ref _liveDenied):N0}  " +
                    $"errors {Interlocked.Read(ref _liveErrors):N0}  cpu {(cpu - lastCpu).TotalSeconds / seconds * 100:F0}%");
                (lastOps, lastCpu, lastAt) = (ops, cpu, now);
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
    }
}
