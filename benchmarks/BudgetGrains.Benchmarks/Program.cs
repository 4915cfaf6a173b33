using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

if (args is ["memory", ..])
    return await BudgetGrains.Benchmarks.HoldMemory.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100_000);

// A short job so the whole suite runs in a few minutes on a shared 2-core machine. In-process, because the
// out-of-process toolchain would generate and build a project under this repo's warnings-as-errors props.
var config = DefaultConfig.Instance.AddJob(Job.Default
    .WithStrategy(RunStrategy.Throughput)
    .WithLaunchCount(1)
    .WithWarmupCount(2)
    .WithIterationCount(5)
    .WithToolchain(InProcessEmitToolchain.Instance));
BenchmarkSwitcher.FromAssembly(typeof(BudgetGrains.Benchmarks.AdmissionBenchmarks).Assembly).Run(args, config);
return 0;
