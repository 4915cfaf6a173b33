namespace BudgetGrains.Grains.Storage;

/// <summary>One commit of the ledger as the reports read it: when, how much, what model and outcome, its tokens, and the
/// feature scope of its chain (else its agent scope: agents are features of their own) and its tenant scope ("" when none).</summary>
public sealed record LedgerRow(long CommittedAtUnixMs, long ActualNanos, string Model, string Outcome, long InputTokens,
    long CachedInputTokens, long OutputTokens, string Feature, string Tenant);

/// <summary>The ledger read for reports (the dashboard's spend views): the most recent commits, bounded.</summary>
public interface ILedgerReader
{
    /// <summary>Commits at or after <paramref name="sinceUnixMs"/> among the last <paramref name="maxRows"/> of the
    /// ledger, oldest first.</summary>
    Task<IReadOnlyList<LedgerRow>> ReadRecentAsync(long sinceUnixMs, int maxRows, CancellationToken cancellationToken);
}
