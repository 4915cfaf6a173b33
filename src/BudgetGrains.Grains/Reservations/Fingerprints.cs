using System.Security.Cryptography;
using System.Text;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Reservations;

/// <summary>
/// Canonical hashes of request parameters, to tell a repeated request (same answer) from an id
/// reused with other parameters (FAILED_PRECONDITION). Labels are sorted, so map order does not matter.
/// </summary>
internal static class Fingerprints
{
    private const char Separator = '\u001f';

    public static string Of(ReserveCommand c)
    {
        var a = c.Attribution;
        var text = new StringBuilder(256)
            .Append(a.Tenant).Append(Separator).Append(a.Feature).Append(Separator).Append(a.Agent).Append(Separator)
            .Append(a.Task).Append(Separator).Append(a.Team).Append(Separator).Append(a.CostCenter).Append(Separator)
            .AppendJoin(',', a.NamedBudgets).Append(Separator);
        foreach (var (key, value) in a.LabelMap.OrderBy(l => l.Key, StringComparer.Ordinal))
            text.Append(key).Append('=').Append(value).Append(Separator);
        text.Append(c.EstimateNanos).Append(Separator).Append(c.Task.Depth).Append(Separator).Append(c.Task.IsRetry)
            .Append(Separator).Append(c.HoldTtlMs).Append(Separator);
        Append(text, c.EstimateUsage);
        Append(text, c.MeterEstimate);
        return Hash(text);
    }

    public static string Of(CommitCommand c)
    {
        var text = new StringBuilder(96).Append(c.ActualNanos).Append(Separator).Append(c.Outcome).Append(Separator);
        Append(text, c.Usage);
        Append(text, c.MeterActual);
        return Hash(text);
    }

    /// <summary>Meters sorted, so their order does not matter; a call without meters hashes as it did before meters existed.</summary>
    private static void Append(StringBuilder text, IReadOnlyList<Meters.MeterQuantity> meters)
    {
        if (meters.Count == 0) return;   // every reserve and commit hashes this: no sort for the common call without meters
        foreach (var meter in meters.OrderBy(m => m.Meter, StringComparer.Ordinal))
            text.Append(Separator).Append(meter.Meter).Append('=').Append(meter.Quantity);
    }

    private static void Append(StringBuilder text, TokenCounts? usage)
    {
        if (usage is null) return;
        text.Append(usage.Model).Append(Separator).Append(usage.InputTokens).Append(Separator).Append(usage.CachedInputTokens)
            .Append(Separator).Append(usage.OutputTokens).Append(Separator).Append(usage.ReasoningTokens);
    }

    private static string Hash(StringBuilder text)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()), hash);
        return Convert.ToHexString(hash[..16]);
    }
}
