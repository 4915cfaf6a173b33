namespace BudgetGrains.Actors.Tests;

public sealed class LifecycleTests(TempDirectoryFixture temp) : IClassFixture<TempDirectoryFixture>
{
    private static readonly GrainId Counter = new("counter", "k");

    [Fact]
    public async Task AReferenceSurvivesDeactivationAndTheNextActivationReadsTheWrittenState()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        var grain = harness.Runtime.GetGrain<ICounterGrain>("k");
        Assert.False(await grain.RecordExistsAsync());
        await grain.AddAndWriteAsync(5);

        await grain.DeactivateAsync();
        await RuntimeHarness.EventuallyAsync(() => harness.Runtime.GetStatistics().Activations == 0, "deactivation");
        Assert.Equal(1, harness.Log.Deactivations(Counter));

        Assert.Equal(5, await grain.GetAsync());
        Assert.True(await grain.RecordExistsAsync());
        Assert.Equal(2, harness.Log.Activations(Counter));
    }

    [Fact]
    public async Task StateSurvivesStopAndANewRuntimeOnTheSameFile()
    {
        string path = temp.NewDatabasePath();
        await using (var first = RuntimeHarness.OnSqlite(path))
        {
            var grain = first.Runtime.GetGrain<ICounterGrain>("k");
            await grain.AddAndWriteAsync(42);
            await first.Runtime.StopAsync(CancellationToken.None);
            await first.Runtime.StopAsync(CancellationToken.None);
            Assert.Equal(1, first.Log.Deactivations(Counter));
            Assert.Equal(0, first.Runtime.GetStatistics().Activations);
            await Assert.ThrowsAsync<InvalidOperationException>(grain.GetAsync);
        }

        await using var second = RuntimeHarness.OnSqlite(path);
        Assert.Equal(42, await second.Runtime.GetGrain<ICounterGrain>("k").GetAsync());
    }

    [Fact]
    public async Task ACallArrivingDuringDeactivationGoesToTheNextActivation()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        var grain = harness.Runtime.GetGrain<ICounterGrain>("k");
        await grain.AddAndWriteAsync(9);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.Log.HoldDeactivation = release;

        await grain.DeactivateAsync();
        await harness.Log.DeactivationEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var during = grain.AddAsync(1);
        Assert.False(during.IsCompleted);
        harness.Log.HoldDeactivation = null;
        release.SetResult();

        Assert.Equal(10, await during);
        Assert.Equal(2, harness.Log.Activations(Counter));
        Assert.Equal(1, harness.Log.Deactivations(Counter));
    }

    [Fact]
    public async Task IdleActivationsAreCollectedAfterTheirTypesTimeout()
    {
        var clock = new ManualTimeProvider();
        var options = new ActorRuntimeOptions { DefaultIdleTimeout = TimeSpan.FromMinutes(1), CollectionInterval = TimeSpan.FromSeconds(10) };
        options.IdleTimeoutByGrainType["probe"] = TimeSpan.FromMinutes(10);
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath(), options, clock);
        var counter = harness.Runtime.GetGrain<ICounterGrain>("k");
        var probe = harness.Runtime.GetGrain<ITurnProbeGrain>("p");
        await counter.AddAsync(1);
        await probe.EnterAsync();
        await harness.TurnsSettledAsync(4);

        clock.Advance(TimeSpan.FromSeconds(50));
        await Task.Delay(50);
        Assert.Equal(2, harness.Runtime.GetStatistics().Activations);
        Assert.Equal(0, harness.Log.Deactivations(Counter));

        clock.Advance(TimeSpan.FromSeconds(20));
        await RuntimeHarness.EventuallyAsync(() => harness.Runtime.GetStatistics().Activations == 1, "collection of the counter");
        Assert.Equal(1, harness.Log.Deactivations(Counter));

        clock.Advance(TimeSpan.FromMinutes(10));
        await RuntimeHarness.EventuallyAsync(() => harness.Runtime.GetStatistics().Activations == 0, "collection of the probe");
    }

    [Fact]
    public async Task TimerTicksRunAsTurnsAndStopWhenDisposed()
    {
        var clock = new ManualTimeProvider();
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath(), clock: clock);
        var grain = harness.Runtime.GetGrain<ITurnProbeGrain>("t");
        await grain.StartTimerAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), keepAlive: false);

        for (int i = 0; i < 20; i++)
        {
            var calls = Enumerable.Range(0, 20).Select(_ => grain.EnterAsync()).ToList();
            clock.Advance(TimeSpan.FromSeconds(1));
            calls.AddRange(Enumerable.Range(0, 20).Select(_ => grain.EnterAsync()));
            await Task.WhenAll(calls);
            // The tick was queued before this call, so it has run by the time the call does.
            Assert.Equal(i + 1, await grain.GetTicksAsync());
        }
        var (count, overlaps) = await grain.GetCountsAsync();
        Assert.Equal(0, overlaps);
        Assert.Equal(800, count);

        await grain.StopTimerAsync();
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(20, await grain.GetTicksAsync());
        Assert.Equal(1, clock.ActiveTimerCount); // only the idle collector is left
    }

    [Fact]
    public async Task AOneShotTimerFiresOnce()
    {
        var clock = new ManualTimeProvider();
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath(), clock: clock);
        var grain = harness.Runtime.GetGrain<ITurnProbeGrain>("once");
        await grain.StartTimerAsync(TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan, keepAlive: false);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, await grain.GetTicksAsync());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await grain.GetTicksAsync());
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, await grain.GetTicksAsync());
    }

    [Fact]
    public async Task TimersStopAtDeactivation()
    {
        var clock = new ManualTimeProvider();
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath(), clock: clock);
        var grain = harness.Runtime.GetGrain<ITurnProbeGrain>("d");
        await grain.StartTimerAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), keepAlive: false);
        Assert.Equal(2, clock.ActiveTimerCount);

        await grain.DeactivateAsync();
        await RuntimeHarness.EventuallyAsync(() => harness.Runtime.GetStatistics().Activations == 0, "deactivation");

        Assert.Equal(1, clock.ActiveTimerCount);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, harness.Runtime.GetStatistics().Activations);
        // A new activation has its own (unstarted) timer state.
        Assert.Equal(0, await grain.GetTicksAsync());
    }

    [Fact]
    public async Task AKeepAliveTimerPreventsIdleCollectionUntilDisposed()
    {
        var clock = new ManualTimeProvider();
        var options = new ActorRuntimeOptions { DefaultIdleTimeout = TimeSpan.FromMinutes(1), CollectionInterval = TimeSpan.FromSeconds(10) };
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath(), options, clock);
        var grain = harness.Runtime.GetGrain<ITurnProbeGrain>("alive");
        await grain.StartTimerAsync(TimeSpan.FromHours(1), TimeSpan.FromHours(1), keepAlive: true);

        clock.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(50);
        Assert.Equal(1, harness.Runtime.GetStatistics().Activations);

        await grain.StopTimerAsync();
        await harness.TurnsSettledAsync(3);
        clock.Advance(TimeSpan.FromMinutes(2));
        await RuntimeHarness.EventuallyAsync(() => harness.Runtime.GetStatistics().Activations == 0, "collection after the keep-alive timer is gone");
    }

    [Fact]
    public async Task AKeepAliveHandlePreventsIdleCollectionUntilDisposed()
    {
        var clock = new ManualTimeProvider();
        var options = new ActorRuntimeOptions { DefaultIdleTimeout = TimeSpan.FromMinutes(1), CollectionInterval = TimeSpan.FromSeconds(10) };
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath(), options, clock);
        var grain = harness.Runtime.GetGrain<ITurnProbeGrain>("held");
        await grain.HoldKeepAliveAsync();
        await grain.StartTimerAsync(TimeSpan.FromHours(1), TimeSpan.FromHours(1), keepAlive: true);
        await grain.StopTimerAsync();

        clock.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(50);
        Assert.Equal(1, harness.Runtime.GetStatistics().Activations);

        await grain.DropKeepAliveAsync();
        await harness.TurnsSettledAsync(5);
        clock.Advance(TimeSpan.FromMinutes(2));
        await RuntimeHarness.EventuallyAsync(() => harness.Runtime.GetStatistics().Activations == 0, "collection after the keep-alive handle is disposed");
    }
}
