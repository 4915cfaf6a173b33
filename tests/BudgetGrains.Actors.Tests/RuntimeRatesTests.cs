namespace BudgetGrains.Actors.Tests;

public sealed class RuntimeRatesTests
{
    private static readonly long[] Bounds = [10, 100, 1_000];

    [Fact]
    public void RatesAreDeltasPerSecondAndP99IsTheBucketOfThe99thPercentile()
    {
        var before = Snapshot(turns: 1_000, counts: [500, 400, 100, 0], batches: 10, writes: 100);
        // 1000 more turns: 900 under 10 µs, 95 under 100 µs, 5 under 1 ms -> the 990th is under 100 µs.
        var after = Snapshot(turns: 2_000, counts: [1_400, 495, 105, 0], batches: 30, writes: 600, activations: 7, queued: 3);

        var rates = RuntimeRates.Between(before, after, TimeSpan.FromSeconds(2));

        Assert.Equal(500, rates.TurnsPerSecond);
        Assert.Equal(100, rates.TurnLatencyP99Microseconds);
        Assert.Equal(250, rates.WritesPerSecond);
        Assert.Equal(25, rates.WritesPerBatch);
        Assert.Equal((7L, 3L, 0L), (rates.Activations, rates.MessagesQueued, rates.FailedBatches));
    }

    [Fact]
    public void P99InTheOpenEndedBucketIsReportedAsOverTheLastBound()
    {
        var before = Snapshot(turns: 0, counts: [0, 0, 0, 0]);
        var after = Snapshot(turns: 10, counts: [0, 0, 0, 10]);

        var rates = RuntimeRates.Between(before, after, TimeSpan.FromSeconds(1));

        Assert.Equal(long.MaxValue, rates.TurnLatencyP99Microseconds);
        Assert.Contains("p99 over max", rates.ToString());
    }

    [Fact]
    public void NoTurnsMeansNoLatencyAndNoDivisionByZero()
    {
        var snapshot = Snapshot(turns: 5, counts: [5, 0, 0, 0]);

        var rates = RuntimeRates.Between(snapshot, snapshot, TimeSpan.Zero);

        Assert.Equal((0L, 0d, 0d), (rates.TurnLatencyP99Microseconds, rates.TurnsPerSecond, rates.WritesPerBatch));
    }

    private static RuntimeStatistics Snapshot(long turns, long[] counts, long batches = 0, long writes = 0, long activations = 0, long queued = 0) =>
        new(activations, turns, queued, Bounds, counts, batches, writes, 0);
}
