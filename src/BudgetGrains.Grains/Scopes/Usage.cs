namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// The groupings usage is counted under per scope and period (UsageDelta). They are counted as commits happen, so a
/// report reads a few rows; a label such as "user" is left out on purpose: it has too many values to pre-aggregate.
/// </summary>
public static class UsageDimensions
{
    /// <summary>The child scopes a commit came through: chain members whose parent is the scope.</summary>
    public const string Child = "child";
    /// <summary>The commit's usage model, else the "model" label.</summary>
    public const string Model = "model";
    /// <summary>The commit's outcome ("resolved", "failed"...).</summary>
    public const string Outcome = "outcome";
    /// <summary>Labels counted as they are.</summary>
    public static readonly IReadOnlyList<string> Labels = ["provider", "environment", "prompt_version"];

    /// <summary>Every grouping a usage report may ask for.</summary>
    public static readonly IReadOnlyList<string> All = [Child, Model, Outcome, .. Labels];
}

/// <summary>Spend under one key of a grouping (or a period's total).</summary>
public sealed record UsageRow(string Key, long SpentNanos, long Commits, long InputTokens, long CachedInputTokens, long OutputTokens, long ReasoningTokens)
{
    public static readonly UsageRow Empty = new("", 0, 0, 0, 0, 0, 0);
}

/// <summary>A scope's usage in one period, grouped by <see cref="GroupBy"/> ("" = totals only); rows in descending spend.</summary>
public sealed record UsageReport(
    string Scope,
    BudgetPeriod Period,
    long PeriodStartUnixMs,
    long PeriodEndUnixMs,
    string Currency,
    UsageRow Total,
    string GroupBy,
    IReadOnlyList<UsageRow> Rows,
    string NextPageToken);

/// <summary>One period of a scope: the current one (end 0) or a closed one from history.</summary>
public sealed record PeriodSummary(
    string Scope,
    BudgetPeriod Period,
    long StartUnixMs,
    long EndUnixMs,
    long LimitNanos,
    long SpentNanos,
    long Commits,
    long Denials,
    bool Reset,
    string Currency);
