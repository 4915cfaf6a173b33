namespace BudgetGrains.Actors.Tests;

public sealed class LimitTests(TempDirectoryFixture temp) : IClassFixture<TempDirectoryFixture>
{
    [Fact]
    public async Task AFullMailboxRejectsCallsWithGrainOverloaded()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath(), new ActorRuntimeOptions { MaxMailboxLength = 4 });
        var grain = harness.Runtime.GetGrain<ITurnProbeGrain>("busy");
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocking = grain.BlockAsync(entered, release);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var queued = Enumerable.Range(0, 4).Select(_ => grain.EnterAsync()).ToArray();
        Assert.Equal(4, harness.Runtime.GetStatistics().MessagesQueued);
        var error = await Assert.ThrowsAsync<GrainOverloadedException>(grain.EnterAsync);
        Assert.Contains("MaxMailboxLength", error.Message);

        release.SetResult();
        await blocking;
        await Task.WhenAll(queued);
        Assert.Equal((4, 0), await grain.GetCountsAsync());
    }

    [Fact]
    public async Task TheActivationTableRejectsActivationsPastTheLimit()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath(), new ActorRuntimeOptions { MaxActivations = 2 });
        await harness.Runtime.GetGrain<ICounterGrain>("1").AddAsync(1);
        await harness.Runtime.GetGrain<ICounterGrain>("2").AddAsync(1);

        var error = await Assert.ThrowsAsync<GrainOverloadedException>(() => harness.Runtime.GetGrain<ICounterGrain>("3").AddAsync(1));
        Assert.Contains("MaxActivations", error.Message);
        Assert.Equal(2, await harness.Runtime.GetGrain<ICounterGrain>("1").AddAsync(1));
    }

    [Fact]
    public async Task GrainsMustBeRegisteredBeforeFirstUse()
    {
        await using var harness = RuntimeHarness.OnSqlite(temp.NewDatabasePath());
        harness.Runtime.GetGrain<ICounterGrain>("x");

        Assert.Throws<InvalidOperationException>(() => harness.Runtime.AddGrain<IOtherGrain, OtherGrain>());
    }

    public interface IOtherGrain : IGrain
    {
        Task PingAsync();
    }

    [GrainType("other")]
    public sealed class OtherGrain : Grain, IOtherGrain
    {
        public Task PingAsync() => Task.CompletedTask;
    }
}
