using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// A short job so the whole suite runs in a few minutes on a shared 2-core machine. In-process, because the
// out-of-process toolchain would generate and build a project under this repo's warnings-as-errors props.
var config = DefaultConfig.Instance.AddJob(Job.Default
    .WithStrategy(RunStrategy.Throughput)
    .WithLaunchCount(1)
    .WithWarmupCount(2)
    .WithIterationCount(5)
    .WithToolchain(InProcessEmitToolchain.Instance));
BenchmarkSwitcher.FromAssembly(typeof(BudgetGrains.Benchmarks.AdmissionBenchmarks).Assembly).Run(args, config);
