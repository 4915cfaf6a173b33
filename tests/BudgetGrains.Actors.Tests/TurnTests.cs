namespace BudgetGrains.Actors.Tests;

public sealed class TurnTests(TempDirectoryFixture temp) : IClassFixture<TempDirectoryFixture>
{
    [Fact]
    public async Task CallsFromOneCallerRunAndCompleteInArrivalOrder()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        var grain = harness.Runtime.GetGrain<ITurnProbeGrain>("order");
        const int Calls = 2_000;

        var tasks = Enumerable.Range(0, Calls).Select(grain.AppendAsync).ToArray();
        var completionOrder = new List<int>();
        foreach (var task in tasks)
        {
            completionOrder.Add(await task);
        }

        Assert.Equal(Enumerable.Range(0, Calls), completionOrder);
        Assert.Equal(Enumerable.Range(0, Calls), await grain.GetAppendedAsync());
    }

    [Fact]
    public async Task TurnsOfOneActivationNeverOverlapUnderHeavyLoad()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        var grain = harness.Runtime.GetGrain<ITurnProbeGrain>("hot");
        const int Callers = 64;
        const int CallsPerCaller = 300;

        await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            var pending = new List<Task>();
            for (int i = 0; i < CallsPerCaller; i++)
            {
                pending.Add(grain.EnterAsync());
                if (pending.Count == 16)
                {
                    await Task.WhenAll(pending);
                    pending.Clear();
                }
            }
            await Task.WhenAll(pending);
        })));

        var (count, overlaps) = await grain.GetCountsAsync();
        Assert.Equal(0, overlaps);
        Assert.Equal(Callers * CallsPerCaller, count);
        Assert.Equal(1, harness.Runtime.GetStatistics().Activations);
    }

    [Fact]
    public async Task DifferentActivationsRunAtTheSameTime()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        using var barrier = new Barrier(2);

        // Each turn blocks its thread until the other grain's turn arrives: true only if both ran concurrently.
        var met = await Task.WhenAll(
            harness.Runtime.GetGrain<IParallelGrain>("a").MeetAsync(barrier),
            harness.Runtime.GetGrain<IParallelGrain>("b").MeetAsync(barrier));

        Assert.Equal([true, true], met);
    }

    [Fact]
    public async Task ManyActivationsEachKeepTheirOwnState()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        const int Grains = 500;

        await Task.WhenAll(Enumerable.Range(0, Grains).SelectMany(g =>
            Enumerable.Range(0, 10).Select(_ => harness.Runtime.GetGrain<ICounterGrain>($"c{g}").AddAsync(g))));

        var values = await Task.WhenAll(Enumerable.Range(0, Grains).Select(g => harness.Runtime.GetGrain<ICounterGrain>($"c{g}").GetAsync()));
        Assert.Equal(Enumerable.Range(0, Grains).Select(g => g * 10), values);
        Assert.Equal(Grains, harness.Runtime.GetStatistics().Activations);
    }

    [Fact]
    public async Task AThrowingTurnFaultsTheCallerAndTheActivationKeepsServing()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        var grain = harness.Runtime.GetGrain<ICounterGrain>("thrower");
        await grain.AddAsync(3);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => grain.ThrowAsync("boom"));
        Assert.Equal("boom", error.Message);
        await Assert.ThrowsAsync<ArgumentException>(grain.ThrowSynchronouslyAsync);

        Assert.Equal(7, await grain.AddAsync(4));
        Assert.Equal(1, harness.Log.Activations(new GrainId("counter", "thrower")));
        Assert.Equal(1, harness.Runtime.GetStatistics().Activations);
    }

    [Fact]
    public async Task StatisticsCountTurnsAndTheirLatencies()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        var grain = harness.Runtime.GetGrain<ICounterGrain>("stats");
        for (int i = 0; i < 25; i++)
        {
            await grain.AddAsync(1);
        }

        // 25 calls plus the activation turn.
        await harness.TurnsSettledAsync(26);
        var stats = harness.Runtime.GetStatistics();
        Assert.Equal(26, stats.TurnLatencyCounts.Sum());
        Assert.Equal(stats.TurnLatencyBucketUpperBoundsMicroseconds.Count + 1, stats.TurnLatencyCounts.Count);
        Assert.Equal(0, stats.MessagesQueued);
        Assert.Equal(1, stats.Activations);
    }
}
