using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Storage;

/// <summary>A ledger entry with its position in the ledger (the store's increasing sequence number).</summary>
public sealed record SequencedCommit(long Seq, LedgerEntry Entry);

/// <summary>Where a usage row is: its scope, period, grouping and key (the usage table's primary key, in its order).</summary>
public readonly record struct UsageKey(string Scope, long PeriodStartUnixMs, string Dimension, string Key)
{
    /// <summary>Before every row.</summary>
    public static readonly UsageKey First = new("", long.MinValue, "", "");
}

/// <summary>A usage row with where it is. A meter's usage is a row of grouping <see cref="MeterDimension"/>, keyed by the
/// meter, with its <paramref name="Quantity"/> (0 for the token usage rows).</summary>
public sealed record KeyedUsage(UsageKey Where, UsageRow Totals, long Quantity = 0)
{
    /// <summary>The grouping of the meter usage rows of an export.</summary>
    public const string MeterDimension = "meter";
}

/// <summary>
/// The ledger and usage read in pages for exports: keyset pages in primary-key order, so any number of rows is read a
/// bounded page at a time and a page costs the same at the end of the table as at its start (docs/decisions/0035).
/// </summary>
public interface ILedgerExport
{
    /// <summary>Commits after sequence <paramref name="afterSeq"/> committed in [<paramref name="fromUnixMs"/>,
    /// <paramref name="toUnixMs"/>), in sequence order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<SequencedCommit>> ReadCommitsAsync(long afterSeq, long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken);

    /// <summary>Usage rows after <paramref name="after"/> whose scope starts with <paramref name="scopePrefix"/> and whose
    /// period starts in [<paramref name="fromUnixMs"/>, <paramref name="toUnixMs"/>), in key order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<KeyedUsage>> ReadUsageAsync(UsageKey after, string scopePrefix, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken);

    /// <summary>Usage per meter (scope_meter_usage) after <paramref name="after"/>, as <see cref="ReadUsageAsync"/> but keyed
    /// (scope, period, meter): rows of grouping <see cref="KeyedUsage.MeterDimension"/> whose key is the meter.</summary>
    Task<IReadOnlyList<KeyedUsage>> ReadMeterUsageAsync(UsageKey after, string scopePrefix, long fromUnixMs, long toUnixMs, int limit,
        CancellationToken cancellationToken);
}
