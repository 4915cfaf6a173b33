using System.Collections.Frozen;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace BudgetGrains.Grains.Telemetry;

/// <summary>
/// The silo's own instruments (meter <see cref="MeterName"/>), recorded by the grains, the journal and the services and
/// exported by OpenTelemetry (docs/operations.md lists them). Cheap on the hot path: every tag is a pre-built
/// <see cref="KeyValuePair{TKey,TValue}"/> with a boxed value made once, passed through the overloads that take one to
/// three tags, so recording allocates nothing; no tag ever carries a scope, only its kind (bounded cardinality).
/// </summary>
public static class BudgetMeters
{
    public const string MeterName = "BudgetGrains";

    public static readonly Meter Meter = new(MeterName, typeof(BudgetMeters).Assembly.GetName().Version?.ToString());

    /// <summary>The scope kinds of docs/design.md §3; any other prefix is counted as "other".</summary>
    private static readonly FrozenDictionary<string, KeyValuePair<string, object?>> KindTags =
        new[] { "tenant", "feature", "agent", "task", "team", "cost_center", "budget" }
            .ToFrozenDictionary(k => k, k => new KeyValuePair<string, object?>("scope.kind", k), StringComparer.Ordinal);

    private static readonly KeyValuePair<string, object?> OtherKind = new("scope.kind", "other");

    private static readonly Histogram<long> BatchSize = Meter.CreateHistogram<long>("budgetgrains.journal.batch.size", "{write}",
        "Grain writes per journal transaction (group commit)", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000] });

    private static readonly Histogram<double> FlushDuration = Meter.CreateHistogram<double>("budgetgrains.journal.flush.duration", "s",
        "Time of one journal transaction in the store, fsync included",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });

    private static readonly Counter<long> FailedBatches = Meter.CreateCounter<long>("budgetgrains.journal.batches.failed", "{batch}",
        "Journal transactions that could not be made durable");

    private static readonly UpDownCounter<long> OpenHolds = Meter.CreateUpDownCounter<long>("budgetgrains.holds.open", "{hold}",
        "Admitted reservations neither committed, released nor expired");

    private static readonly Counter<long> Commits = Meter.CreateCounter<long>("budgetgrains.commits", "{commit}",
        "Commits counted on each scope of their chain, by scope kind");

    private static readonly Counter<long> Spend = Meter.CreateCounter<long>("budgetgrains.spend", "nanos",
        "Committed spend in nanos of the budget currency, counted on each scope of the chain, by scope kind");

    private static readonly Counter<long> AlertDeliveries = Meter.CreateCounter<long>("budgetgrains.alert.deliveries", "{attempt}",
        "Alert delivery attempts by sink and resulting state (delivered, retrying, failed)");

    /// <summary>One journal transaction of <paramref name="writes"/> writes took <paramref name="startTimestamp"/> until now.</summary>
    public static void JournalBatch(int writes, long startTimestamp, bool failed)
    {
        BatchSize.Record(writes);
        FlushDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        if (failed) FailedBatches.Add(1);
    }

    public static void HoldOpened() => OpenHolds.Add(1);

    public static void HoldClosed() => OpenHolds.Add(-1);

    /// <summary>Holds restored at start-up (they were open when the silo stopped).</summary>
    public static void HoldsRestored(long count) => OpenHolds.Add(count);

    /// <summary>A commit of <paramref name="actualNanos"/> on every scope of <paramref name="chain"/>.</summary>
    public static void Committed(string[] chain, long actualNanos)
    {
        if (!Commits.Enabled && !Spend.Enabled) return;
        foreach (var scope in chain)
        {
            var tag = KindOf(scope);
            Commits.Add(1, tag);
            Spend.Add(actualNanos, tag);
        }
    }

    public static void AlertDelivery(string sink, string state)
    {
        if (AlertDeliveries.Enabled) AlertDeliveries.Add(1, new("sink", sink), new("state", state));
    }

    private static KeyValuePair<string, object?> KindOf(string scope)
    {
        var slash = scope.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0) return OtherKind;
        var lookup = KindTags.GetAlternateLookup<ReadOnlySpan<char>>();
        return lookup.TryGetValue(scope.AsSpan(0, slash), out var tag) ? tag : OtherKind;
    }
}
