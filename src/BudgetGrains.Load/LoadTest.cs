using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Grpc.Core;
using Grpc.Net.Client;
using AdmissionClient = BudgetGrains.Contracts.V1.Admission.AdmissionClient;
using ManagementClient = BudgetGrains.Contracts.V1.Management.ManagementClient;

namespace BudgetGrains.Load;

/// <summary>What a run measured and whether the invariants held afterwards.</summary>
public sealed record LoadReport(long Operations, long Admitted, long Denied, long Errors, double OperationsPerSecond, int InvariantChecks, int InvariantFailures)
{
    /// <summary>The scopes the run created (every chain's, root first).</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>Budgets removed afterwards (<see cref="RunSettings.RemoveBudgets"/>).</summary>
    public int RemovedBudgets { get; init; }

    public bool Passed => InvariantFailures == 0;
}

/// <summary>
/// One load run against a silo at an address: create the chains, drive them (progress line each second), print
/// the figures, check I1–I2, release what is still held, check again, and end with a markdown row.
/// </summary>
/// <summary>How a run names its scopes and whether it removes their budgets afterwards.</summary>
/// <param name="ScopePrefix">Scope keys are <c>{prefix}-{run id}</c> (with <c>-{caller}</c> per chain for the tenants topology).</param>
/// <param name="RemoveBudgets">Delete every budget the run created once it is done (also when it fails), and say what stays.</param>
public sealed record RunSettings(string ScopePrefix = "lg", bool RemoveBudgets = false);

public static class LoadTest
{
    public static Task<LoadReport> RunAsync(LoadOptions options, Uri address, SiloView silo, TextWriter output) =>
        RunAsync(options, address, silo, output, new RunSettings());

    public static Task<LoadReport> RunAsync(LoadOptions options, Uri address, SiloView silo, TextWriter output, RunSettings settings) =>
        RunAsync(options, [address], silo, output, settings);

    /// <summary>A run through several silos of one cluster: <see cref="LoadOptions.Channels"/> channels to each, caller i
    /// on silo i mod n; budgets are created and invariants read through the first.</summary>
    public static async Task<LoadReport> RunAsync(LoadOptions options, IReadOnlyList<Uri> addresses, SiloView silo, TextWriter output,
        RunSettings settings)
    {
        var runId = Guid.NewGuid().ToString("N")[..8];
        var channels = Enumerable.Range(0, options.Channels * addresses.Count).Select(i => ChannelTo(addresses[i % addresses.Count])).ToArray();
        try
        {
            var admission = channels.Select(c => new AdmissionClient(c)).ToArray();
            var management = new ManagementClient(channels[0]);
            var scenario = LoadOptions.Name(options.Scenario);
            var topology = LoadOptions.Name(options.Topology);
            output.WriteLine($"BudgetGrains load {scenario}, {topology}, chain {options.EffectiveChainLength}, {options.Callers} callers, " +
                $"{options.Channels} channel(s), {options.Duration.TotalSeconds:F0} s after {options.Warmup.TotalSeconds:F0} s warm-up, " +
                $"{silo.Kind} silo at {string.Join(", ", addresses)} ({Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription})");

            var chainCount = options.Topology == Topology.HotRoot ? 1 : options.Callers;
            var key = $"{settings.ScopePrefix}-{runId}";
            var chains = Enumerable.Range(0, chainCount)
                .Select(i => Chain.Create(chainCount == 1 ? key : $"{key}-{i}", options.ChainLength))
                .ToArray();
            output.WriteLine($"scopes: */{key}{(chainCount == 1 ? "" : "-<caller>")} ({chains.Sum(c => c.Scopes.Length)} budgets, created for this run" +
                (settings.RemoveBudgets ? ", removed at the end)" : ", kept)"));
            var report = new LoadReport(0, 0, 0, 0, 0, 0, 0);
            try
            {
                report = await RunChainsAsync(options, silo, output, runId, admission, management, chains);
            }
            finally
            {
                if (settings.RemoveBudgets) report = report with { RemovedBudgets = await RemoveBudgetsAsync(management, chains, output, key) };
            }
            return report with { Scopes = [.. chains.SelectMany(c => c.Scopes)] };
        }
        finally
        {
            foreach (var channel in channels) channel.Dispose();
        }
    }

    /// <summary>
    /// Deletes every budget of the run's chains. What cannot be deleted is said: the store keeps the scopes' counters of
    /// the period, their ledger entries and closed periods (spend history is never deleted), so the scopes still read
    /// their spend in GetBudget and usage reports, with no budget.
    /// </summary>
    private static async Task<int> RemoveBudgetsAsync(ManagementClient management, IReadOnlyList<Chain> chains, TextWriter output, string key)
    {
        var (removed, failed) = (0, new List<string>());
        foreach (var scope in chains.SelectMany(c => c.Scopes).Reverse())
        {
            try
            {
                if ((await management.DeleteBudgetAsync(new BudgetGrains.Contracts.V1.DeleteBudgetRequest { Scope = scope })).Deleted) removed++;
            }
            catch (RpcException e)
            {
                failed.Add($"{scope} ({e.StatusCode}: {e.Status.Detail})");
            }
        }
        var charged = chains.Sum(c => c.ChargedNanos);
        output.WriteLine($"cleanup: removed {removed} budgets of */{key}*{(failed.Count == 0 ? "" : $"; could not remove {failed.Count}: {string.Join(", ", failed)}")}");
        output.WriteLine($"cleanup: kept, as the store keeps all spend history: the counters, ledger entries and closed periods of those scopes " +
            $"(${charged / 1e9:F2} charged in {chains.Sum(c => c.Admitted):N0} admitted calls); they read as scopes without a budget");
        return removed;
    }

    private static async Task<LoadReport> RunChainsAsync(LoadOptions options, SiloView silo, TextWriter output, string runId,
        AdmissionClient[] admission, ManagementClient management, Chain[] chains)
    {
        var scenario = LoadOptions.Name(options.Scenario);
        var topology = LoadOptions.Name(options.Topology);
        long? limitedNanos = options.Scenario == Scenario.Deny ? options.DenyAdmits * LoadRun.EstimateNanos : null;
        foreach (var chain in chains) await chain.CreateBudgetsAsync(management, limitedNanos ?? Chain.GenerousLimitNanos);

        var run = new LoadRun(options, output, runId, admission, chains);
        // Keep the busiest scope under its open-holds limit, with room for the calls already in flight.
        if (options.Scenario == Scenario.Reserve) run.LimitOpenHolds(options.MaxOpenHoldsPerScope - options.Callers - 1_000);
        SiloSample? atStart = null, atEnd = null;
        var serverProcesses = (silo.ProcessIds ?? []).Select(Process.GetProcessById).ToList();
        TimeSpan serverCpuAtStart = default, serverCpu = default;
        await run.RunAsync(starting =>
        {
            if (starting)
            {
                atStart = silo.Sample?.Invoke();
                serverCpuAtStart = ServerCpu(serverProcesses);
                return;
            }
            atEnd = silo.Sample?.Invoke();
            serverCpu = ServerCpu(serverProcesses) - serverCpuAtStart;
        }, CancellationToken.None);

        var total = run.Total();
        var seconds = run.Elapsed.TotalSeconds;
        var cpuPercent = run.CpuTime.TotalSeconds / seconds * 100;
        output.WriteLine();
        output.WriteLine($"measured {seconds:F2} s (stopped by {run.StoppedBy}): {total.Operations:N0} operations = {total.Operations / seconds:N0} ops/s, " +
            $"admitted {total.Admitted:N0} ({total.Admitted / seconds:N0}/s), denied {total.Denied:N0}, errors {total.Errors:N0}");
        PrintLatency(output, options.Scenario == Scenario.Check ? "check" : "reserve", total.Reserve);
        if (total.Settle.Count > 0) PrintLatency(output, options.Scenario == Scenario.ReserveRelease ? "release" : "commit", total.Settle);
        output.WriteLine($"cpu: this process {run.CpuTime.TotalSeconds:F2} s = {cpuPercent:F0}% of one core (of {Environment.ProcessorCount * 100}%), " +
            $"{run.CpuTime.TotalMicroseconds / Math.Max(1, total.Operations):F0} µs per operation" +
            (serverProcesses.Count == 0 ? "" : $"; {(serverProcesses.Count == 1 ? "server" : $"{serverProcesses.Count} servers")} {serverCpu.TotalSeconds:F2} s = {serverCpu.TotalSeconds / seconds * 100:F0}%, " +
                $"{serverCpu.TotalMicroseconds / Math.Max(1, total.Operations):F0} µs per operation"));
        if (atStart is { } start && atEnd is { } end)
        {
            var batches = end.GroupCommitBatches - start.GroupCommitBatches;
            var writes = end.GroupCommitWrites - start.GroupCommitWrites;
            output.WriteLine($"group commit: {batches:N0} transactions ({batches / seconds:N0}/s), {writes:N0} writes ({writes / seconds:N0}/s), " +
                $"{(double)writes / Math.Max(1, batches):F1} writes per transaction");
        }
        foreach (var sample in run.ErrorSamples) output.WriteLine($"  error: {sample}");

        var invariants = new Invariants(management, admission[0], silo.Store, chains);
        await invariants.CheckCountersAsync(limitedNanos);
        var releaseStarted = Stopwatch.GetTimestamp();
        var released = await invariants.ReleaseAllAsync(options.Callers);
        var releaseSeconds = Stopwatch.GetElapsedTime(releaseStarted).TotalSeconds;
        await invariants.CheckCountersAsync(limitedNanos);
        output.WriteLine($"released the {released:N0} holds still open in {releaseSeconds:F1} s; " +
            $"invariants ({(silo.Store is null ? "live counters vs what callers were charged" : "live and durable counters, ledger sums")}): " +
            $"{invariants.Checks - invariants.Failed}/{invariants.Checks} checks passed");
        foreach (var failure in invariants.Failures) output.WriteLine($"  FAILED: {failure}");

        output.WriteLine();
        output.WriteLine("| scenario | topology | chain | callers | silo | ops/s | admitted/s | p50 ms | p90 ms | p99 ms | p99.9 ms | settle p99 ms | admitted | denied | errors | cpu % | invariants |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        output.WriteLine($"| {scenario} | {topology} | {options.EffectiveChainLength} | {options.Callers} | {silo.Kind} | {total.Operations / seconds:N0} | {total.Admitted / seconds:N0} | " +
            $"{Ms(total.Reserve.PercentileNanos(50))} | {Ms(total.Reserve.PercentileNanos(90))} | {Ms(total.Reserve.PercentileNanos(99))} | " +
            $"{Ms(total.Reserve.PercentileNanos(99.9))} | {(total.Settle.Count > 0 ? Ms(total.Settle.PercentileNanos(99)) : "–")} | " +
            $"{total.Admitted:N0} | {total.Denied:N0} | {total.Errors:N0} | " +
            $"{cpuPercent:F0}{(serverProcesses.Count == 0 ? "" : $" + {serverCpu.TotalSeconds / seconds * 100:F0}")} / {Environment.ProcessorCount * 100} | " +
            $"{(invariants.Failed == 0 ? "pass" : $"FAIL {invariants.Failed}")} |");
        return new LoadReport(total.Operations, total.Admitted, total.Denied, total.Errors, total.Operations / seconds, invariants.Checks, invariants.Failed);
    }

    /// <summary>
    /// A channel that opens more HTTP/2 connections when one reaches the server's concurrent stream limit (100 on
    /// Kestrel), so that many callers on one channel are not queued behind that limit.
    /// </summary>
    internal static GrpcChannel ChannelTo(Uri address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false },
    });

    /// <summary>The CPU time of the silo processes so far, summed.</summary>
    private static TimeSpan ServerCpu(List<Process> processes)
    {
        var total = TimeSpan.Zero;
        foreach (var process in processes)
        {
            process.Refresh();
            total += process.TotalProcessorTime;
        }
        return total;
    }

    private static void PrintLatency(TextWriter output, string name, LatencyHistogram h) =>
        output.WriteLine($"{name,-8} latency ms: p50 {Ms(h.PercentileNanos(50))}  p90 {Ms(h.PercentileNanos(90))}  p99 {Ms(h.PercentileNanos(99))}  " +
            $"p99.9 {Ms(h.PercentileNanos(99.9))}  max {Ms(h.MaxNanos)}  ({h.Count:N0} calls)");

    private static string Ms(long nanos) => (nanos / 1e6).ToString("F2", CultureInfo.InvariantCulture);
}
