using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BudgetGrains.Actors;
using BudgetGrains.Client;
using BudgetGrains.Contracts.V1;
using Google.Protobuf;
using BudgetGrains.Grains;
using BudgetGrains.Grpc;
using BudgetGrains.LoadGen;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var options = LoadOptions.Parse(args, out var error);
if (options is null)
{
    if (error!.Length > 0) Console.Error.WriteLine(error);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

if (options.EmitCheckBody is { } bodyPath)
{
    await EmitCheckBodyAsync(options, bodyPath);
    return 0;
}

// Bounded whatever happens: a run that hangs (a lost response, a stuck silo) ends the process.
var deadline = options.Warmup + options.Duration + TimeSpan.FromMinutes(3);
_ = Task.Delay(deadline).ContinueWith(_ =>
{
    Console.Error.WriteLine($"load generator did not finish within {deadline.TotalSeconds:F0} s; giving up");
    Environment.Exit(3);
}, TaskScheduler.Default);

var runId = Guid.NewGuid().ToString("N")[..8];
string? dataDir = null;
Silo? silo = null;
if (options.Server is null)
{
    dataDir = Path.Combine(Path.GetTempPath(), $"budgetgrains-loadgen-{runId}");
    silo = await Silo.StartAsync(new SiloOptions { Listen = "127.0.0.1:0", DataDir = dataDir },
        logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
}
var address = options.Server ?? silo!.Address;
var channels = Enumerable.Range(0, options.Channels).Select(_ => GrpcChannel.ForAddress(address)).ToArray();
try
{
    var admission = channels.Select(c => new AdmissionClient(c)).ToArray();
    var management = new ManagementClient(channels[0]);
    var scenario = LoadOptions.Name(options.Scenario);
    var topology = LoadOptions.Name(options.Topology);
    var siloKind = silo is null ? "external" : "in-process";
    Console.WriteLine($"BudgetGrains.LoadGen {scenario}, {topology}, chain {options.EffectiveChainLength}, {options.Callers} callers, " +
        $"{options.Channels} channel(s), {options.Duration.TotalSeconds:F0} s after {options.Warmup.TotalSeconds:F0} s warm-up, " +
        $"{siloKind} silo at {address} ({Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription})");

    var chainCount = options.Topology == Topology.HotRoot ? 1 : options.Callers;
    var chains = Enumerable.Range(0, chainCount)
        .Select(i => Chain.Create(chainCount == 1 ? $"lg-{runId}" : $"lg-{runId}-{i}", options.ChainLength))
        .ToArray();
    long? limitedNanos = options.Scenario == Scenario.Deny ? options.DenyAdmits * LoadRun.EstimateNanos : null;
    foreach (var chain in chains) await chain.CreateBudgetsAsync(management, limitedNanos ?? Chain.GenerousLimitNanos);

    var run = new LoadRun(options, runId, admission, chains);
    // Keep the busiest scope under its open-holds limit, with room for the calls already in flight.
    if (options.Scenario == Scenario.Reserve) run.LimitOpenHolds(Limits.MaxOpenHoldsPerScope - options.Callers - 1_000);
    RuntimeStatistics? statsAtStart = null, statsAtEnd = null;
    var serverProcess = options.ServerPid is { } pid ? Process.GetProcessById(pid) : null;
    TimeSpan serverCpuAtStart = default, serverCpu = default;
    await run.RunAsync(starting =>
    {
        if (starting)
        {
            statsAtStart = silo?.Statistics;
            serverCpuAtStart = serverProcess?.TotalProcessorTime ?? default;
            return;
        }
        statsAtEnd = silo?.Statistics;
        serverProcess?.Refresh();
        serverCpu = (serverProcess?.TotalProcessorTime ?? default) - serverCpuAtStart;
    }, CancellationToken.None);

    var total = run.Total();
    var seconds = run.Elapsed.TotalSeconds;
    var cpuPercent = run.CpuTime.TotalSeconds / seconds * 100;
    Console.WriteLine();
    Console.WriteLine($"measured {seconds:F2} s (stopped by {run.StoppedBy}): {total.Operations:N0} operations = {total.Operations / seconds:N0} ops/s, " +
        $"admitted {total.Admitted:N0} ({total.Admitted / seconds:N0}/s), denied {total.Denied:N0}, errors {total.Errors:N0}");
    PrintLatency(options.Scenario == Scenario.Check ? "check" : "reserve", total.Reserve);
    if (total.Settle.Count > 0) PrintLatency(options.Scenario == Scenario.ReserveRelease ? "release" : "commit", total.Settle);
    Console.WriteLine($"cpu: this process {run.CpuTime.TotalSeconds:F2} s = {cpuPercent:F0}% of one core (of {Environment.ProcessorCount * 100}%), " +
        $"{run.CpuTime.TotalMicroseconds / Math.Max(1, total.Operations):F0} µs per operation" +
        (serverProcess is null ? "" : $"; server {serverCpu.TotalSeconds:F2} s = {serverCpu.TotalSeconds / seconds * 100:F0}%, " +
            $"{serverCpu.TotalMicroseconds / Math.Max(1, total.Operations):F0} µs per operation"));
    if (statsAtStart is not null && statsAtEnd is not null)
    {
        var batches = statsAtEnd.GroupCommitBatches - statsAtStart.GroupCommitBatches;
        var writes = statsAtEnd.GroupCommitWrites - statsAtStart.GroupCommitWrites;
        Console.WriteLine($"group commit: {batches:N0} transactions ({batches / seconds:N0}/s), {writes:N0} writes ({writes / seconds:N0}/s), " +
            $"{(double)writes / Math.Max(1, batches):F1} writes per transaction; turns {(statsAtEnd.TurnsCompleted - statsAtStart.TurnsCompleted) / seconds:N0}/s; " +
            $"activations {statsAtEnd.Activations:N0}");
    }
    foreach (var sample in run.ErrorSamples) Console.WriteLine($"  error: {sample}");

    var invariants = new Invariants(management, admission[0], silo?.Store, chains);
    await invariants.CheckCountersAsync(limitedNanos);
    var releaseStarted = Stopwatch.GetTimestamp();
    var released = await invariants.ReleaseAllAsync(options.Callers);
    var releaseSeconds = Stopwatch.GetElapsedTime(releaseStarted).TotalSeconds;
    await invariants.CheckCountersAsync(limitedNanos);
    Console.WriteLine($"released the {released:N0} holds still open in {releaseSeconds:F1} s; " +
        $"invariants ({(silo is null ? "live counters vs what callers were charged" : "live and durable counters, ledger sums")}): " +
        $"{invariants.Checks - invariants.Failed}/{invariants.Checks} checks passed");
    foreach (var failure in invariants.Failures) Console.WriteLine($"  FAILED: {failure}");

    Console.WriteLine();
    Console.WriteLine("| scenario | topology | chain | callers | silo | ops/s | admitted/s | p50 ms | p90 ms | p99 ms | p99.9 ms | settle p99 ms | admitted | denied | errors | cpu % | invariants |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    Console.WriteLine($"| {scenario} | {topology} | {options.EffectiveChainLength} | {options.Callers} | {siloKind} | {total.Operations / seconds:N0} | {total.Admitted / seconds:N0} | " +
        $"{Ms(total.Reserve.PercentileNanos(50))} | {Ms(total.Reserve.PercentileNanos(90))} | {Ms(total.Reserve.PercentileNanos(99))} | " +
        $"{Ms(total.Reserve.PercentileNanos(99.9))} | {(total.Settle.Count > 0 ? Ms(total.Settle.PercentileNanos(99)) : "–")} | " +
        $"{total.Admitted:N0} | {total.Denied:N0} | {total.Errors:N0} | " +
        $"{cpuPercent:F0}{(serverProcess is null ? "" : $" + {serverCpu.TotalSeconds / seconds * 100:F0}")} / {Environment.ProcessorCount * 100} | " +
        $"{(invariants.Failed == 0 ? "pass" : $"FAIL {invariants.Failed}")} |");
    return invariants.Failed == 0 ? 0 : 1;
}
finally
{
    foreach (var channel in channels) channel.Dispose();
    if (silo is not null) await silo.DisposeAsync();
    if (dataDir is not null) Directory.Delete(dataDir, recursive: true);
}

// h2load sends the same bytes on every request, so it gets the message already framed: a zero byte (not
// compressed), the length as big-endian uint32, then the serialized CheckRequest.
static async Task EmitCheckBodyAsync(LoadOptions options, string path)
{
    var chain = Chain.Create(options.BodyKey, 0);
    if (options.Server is { } server)
    {
        using var channel = GrpcChannel.ForAddress(server);
        await chain.CreateBudgetsAsync(new ManagementClient(channel), Chain.GenerousLimitNanos);
    }
    var message = new CheckRequest { Attribution = chain.Attribution, EstimateNanos = LoadRun.EstimateNanos }.ToByteArray();
    var frame = new byte[5 + message.Length];
    BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
    message.CopyTo(frame, 5);
    await File.WriteAllBytesAsync(path, frame);
}

static void PrintLatency(string name, LatencyHistogram h) =>
    Console.WriteLine($"{name,-8} latency ms: p50 {Ms(h.PercentileNanos(50))}  p90 {Ms(h.PercentileNanos(90))}  p99 {Ms(h.PercentileNanos(99))}  " +
        $"p99.9 {Ms(h.PercentileNanos(99.9))}  max {Ms(h.MaxNanos)}  ({h.Count:N0} calls)");

static string Ms(long nanos) => (nanos / 1e6).ToString("F2", CultureInfo.InvariantCulture);
