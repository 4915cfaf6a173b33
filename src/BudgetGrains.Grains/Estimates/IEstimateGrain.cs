using BudgetGrains.Grains.Journal;

namespace BudgetGrains.Grains.Estimates;

/// <summary>
/// What calls of one feature and model really cost lately (key: "feature|model"), so a reserve that gives no
/// estimate can hold a realistic one instead of a worst case.
/// </summary>
public interface IEstimateGrain : IGrainWithStringKey
{
    /// <summary>The p95 of the recent actual costs, or null while fewer than <see cref="Limits.MinLearnedSamples"/> are known.</summary>
    Task<long?> P95Async();

    /// <summary>Adds a committed call's actual cost to the window.</summary>
    Task RecordAsync(long actualNanos);
}

/// <summary>The key of the estimate grain of a feature and model.</summary>
public static class EstimateKeys
{
    public static string Of(string feature, string model) => feature + "|" + model;
}
