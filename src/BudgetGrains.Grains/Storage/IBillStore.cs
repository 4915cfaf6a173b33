namespace BudgetGrains.Grains.Storage;

/// <summary>What a provider billed for one model on one UTC day under one line item kind ("input", "output", ...; "" when
/// the bill does not say).</summary>
public sealed record BillLine(string Provider, string Model, string Kind, long DayUnixMs, long BilledNanos);

/// <summary>An imported provider bill: its lines summed per provider, model, kind and day.</summary>
public sealed record BillImport(string ImportId, string Format, long ImportedAtUnixMs, string Currency, IReadOnlyList<BillLine> Lines);

/// <summary>What the ledger counted for a provider label, model and UTC day (the provider label as the commits gave it).</summary>
public sealed record CountedCost(string Provider, string Model, long DayUnixMs, long CountedNanos, long Commits);

/// <summary>
/// The reconciliation's tables (imported bills, their own schema version) and the ledger summed by provider, model and
/// day (docs/decisions/0036). Bills are written directly in one transaction per import, not through the journal: they are
/// not admission state, and nothing the journal writes depends on them.
/// </summary>
public interface IBillStore
{
    /// <summary>Stores an import, replacing one with the same id, in one transaction; true when it replaced one. An import of a new
    /// id when <see cref="Limits.MaxBillImports"/> are stored fails with <see cref="InvalidOperationException"/>.</summary>
    Task<bool> ReplaceAsync(BillImport import, CancellationToken cancellationToken);

    /// <summary>Bill lines of every import on days in [from, to), summed over imports and kinds, in provider, model, day order,
    /// at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<BillLine>> ReadBilledAsync(long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken);

    /// <summary>The ledger's commits in [from, to) summed by provider label, model and UTC day, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<CountedCost>> ReadCountedAsync(long fromUnixMs, long toUnixMs, int limit, CancellationToken cancellationToken);
}
