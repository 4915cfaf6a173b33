using BudgetGrains.Actors;

namespace BudgetGrains.Grains.Estimates;

/// <summary>See <see cref="IEstimateGrain"/>. The window is written every few records, not on each: losing the last
/// few samples in a crash only makes the estimate a little older.</summary>
[GrainType(GrainTypes.Estimate)]
internal sealed class EstimateGrain : Grain<EstimateState>, IEstimateGrain
{
    private const int WriteEvery = 16;
    private int _unwritten;

    public Task<long?> P95Async()
    {
        var recent = State.Recent;
        if (recent.Length < Limits.MinLearnedSamples) return Task.FromResult<long?>(null);
        var sorted = recent.Order().ToArray();
        return Task.FromResult<long?>(sorted[(int)Math.Ceiling(sorted.Length * 0.95) - 1]);
    }

    public async Task RecordAsync(long actualNanos)
    {
        if (State.Recent.Length < Limits.LearnedWindow)
        {
            State.Recent = [.. State.Recent, actualNanos];
        }
        else
        {
            State.Recent[State.Next] = actualNanos;
            State.Next = (State.Next + 1) % Limits.LearnedWindow;
        }
        if (++_unwritten < WriteEvery) return;
        _unwritten = 0;
        await WriteStateAsync();
    }

    public override Task OnDeactivateAsync(CancellationToken cancellationToken) =>
        _unwritten > 0 ? WriteStateAsync() : Task.CompletedTask;
}
