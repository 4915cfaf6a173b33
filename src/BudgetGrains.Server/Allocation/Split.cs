namespace BudgetGrains.Server.Allocation;

/// <summary>
/// Splits an amount of nanos in proportion to quantities so that the parts add up to it exactly (docs/decisions/0046):
/// each part is amount × quantity / total rounded down, and the nanos left over (fewer than the parts) go one each to the
/// parts with the largest fractional remainders, ties to the scope first in ordinal order, "" (usage without a scope) last.
/// </summary>
internal static class Split
{
    /// <summary>The parts of the shares with a quantity above 0, with their quantity; none when no share has one.</summary>
    public static IReadOnlyList<(string Scope, long Quantity, long Nanos)> Proportionally(long amountNanos, IReadOnlyList<(string Scope, long Quantity)> shares)
    {
        var counted = shares.Where(s => s.Quantity > 0).ToList();
        Int128 total = 0;
        foreach (var s in counted) total += s.Quantity;
        if (total == 0) return [];
        var parts = counted.Select(s =>
        {
            var exact = (Int128)amountNanos * s.Quantity;
            return (s.Scope, s.Quantity, Nanos: (long)(exact / total), Remainder: exact % total);
        }).ToList();
        var left = amountNanos - parts.Sum(p => p.Nanos);
        var order = Enumerable.Range(0, parts.Count)
            .OrderByDescending(i => parts[i].Remainder)
            .ThenBy(i => parts[i].Scope.Length == 0)
            .ThenBy(i => parts[i].Scope, StringComparer.Ordinal)
            .Take((int)left);
        foreach (var i in order) parts[i] = parts[i] with { Nanos = parts[i].Nanos + 1 };
        return parts.Select(p => (p.Scope, p.Quantity, p.Nanos)).ToList();
    }
}
