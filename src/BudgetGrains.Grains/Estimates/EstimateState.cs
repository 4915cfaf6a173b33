namespace BudgetGrains.Grains.Estimates;

/// <summary>A ring of the last <see cref="Limits.LearnedWindow"/> actual costs.</summary>
public sealed class EstimateState
{
    public long[] Recent { get; set; } = [];
    public int Next { get; set; }
}
