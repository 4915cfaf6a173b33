using BudgetGrains.Grains.Journal;
using Orleans.Runtime;

namespace BudgetGrains.Grains.Estimates;

/// <summary>See <see cref="IEstimateGrain"/>. The window is written every few records, not on each: losing the last
/// few samples in a crash only makes the estimate a little older. No journal entry of the admission path carries it, so it
/// is Orleans grain state in <see cref="SettingsStorage"/> (the journal's store, or Azure storage in the Azure profile).</summary>
[GrainType(GrainTypes.Estimate)]
internal sealed class EstimateGrain([PersistentState(EstimateGrain.StateName, SettingsStorage.Name)] IPersistentState<EstimateState> state)
    : Grain, IEstimateGrain
{
    public const string StateName = "estimate";
    private const int WriteEvery = 16;
    private int _unwritten;

    private EstimateState State => state.State;

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
        await state.WriteStateAsync();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        _unwritten > 0 ? state.WriteStateAsync(cancellationToken) : Task.CompletedTask;
}
