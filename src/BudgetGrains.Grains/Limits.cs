namespace BudgetGrains.Grains;

/// <summary>
/// Every bound of the service in one place (DESIGN.md I5). Each is enforced with a clear error,
/// and <c>LimitsTests</c> checks that they are consistent with each other.
/// </summary>
public static class Limits
{
    /// <summary>Longest client request id (= reservation id).</summary>
    public const int MaxRequestIdLength = 128;

    /// <summary>Longest key of a scope id (the part after "kind/").</summary>
    public const int MaxScopeKeyLength = 128;

    /// <summary>Most scopes in one admission chain, ancestors included.</summary>
    public const int MaxChainLength = 16;

    /// <summary>Most extra named budgets in one attribution.</summary>
    public const int MaxNamedBudgets = 8;

    /// <summary>Most labels in one attribution, and the longest key and value.</summary>
    public const int MaxLabels = 16;
    public const int MaxLabelKeyLength = 64;
    public const int MaxLabelValueLength = 256;

    /// <summary>Largest estimate or actual of one model call: $10,000.</summary>
    public const long MaxCallAmountNanos = 10_000_000_000_000;

    /// <summary>Largest budget limit: $1,000,000,000.</summary>
    public const long MaxLimitNanos = 1_000_000_000_000_000_000;

    /// <summary>Most tokens of one kind in one call's usage.</summary>
    public const long MaxTokensPerCall = 100_000_000;

    /// <summary>Hold lifetime when the request gives none, and the longest allowed.</summary>
    public const long DefaultHoldTtlMs = 5 * 60 * 1000;
    public const long MinHoldTtlMs = 1000;
    public const long MaxHoldTtlMs = 60 * 60 * 1000;

    /// <summary>Reservations one shard keeps in memory (its open holds and the ids with a call running); with
    /// <see cref="Reservations.ReservationShards.Count"/> shards, 3.2 M per silo at most. One more is RESOURCE_EXHAUSTED.</summary>
    public const int MaxReservationsPerShard = 50_000;

    /// <summary>Calls with one request id waiting behind each other (duplicates in flight); one more is RESOURCE_EXHAUSTED.</summary>
    public const int MaxCallsPerRequestId = 64;

    /// <summary>Most open holds on one scope at once.</summary>
    public const int MaxOpenHoldsPerScope = 100_000;

    /// <summary>Deepest call inside an agent task that a request may declare.</summary>
    public const int MaxTaskDepth = 1_000;

    /// <summary>Longest commit outcome label and model name.</summary>
    public const int MaxOutcomeLength = 64;
    public const int MaxModelNameLength = 128;

    /// <summary>Most models with a stored price (set through the API or the shipped default file), and the largest
    /// price of one token: $10,000 per 1M tokens, so pricing a call can never overflow (LimitsTests).</summary>
    public const int MaxPricedModels = 10_000;
    public const long MaxPriceNanosPerToken = 10_000_000;

    /// <summary>Most soft thresholds on one budget, and the largest percent.</summary>
    public const int MaxThresholds = 10;
    public const int MaxThresholdPercent = 1_000;

    /// <summary>Largest requests-per-minute or tokens-per-minute rate limit.</summary>
    public const long MaxRatePerMinute = 1_000_000_000;

    /// <summary>Actual costs a learned estimate is computed from, and how many it needs before it is used.</summary>
    public const int LearnedWindow = 256;
    public const int MinLearnedSamples = 8;

    /// <summary>Most scopes one WatchBudgets stream watches, named scopes and their ancestors together.</summary>
    public const int MaxWatchScopes = 32;

    /// <summary>WatchBudgets streams open at once on one silo (default; SiloOptions.MaxBudgetWatchStreams).</summary>
    public const int MaxWatchStreams = 1_000;

    /// <summary>Longest scope id: a task scope namespaced by its tenant, "task/tenant/key".</summary>
    public const int MaxScopeIdLength = 5 + MaxScopeKeyLength + 1 + MaxScopeKeyLength;

    /// <summary>Alert sinks (webhooks and the log) one silo delivers to.</summary>
    public const int MaxAlertSinks = 16;

    /// <summary>The alerts queue of one sink: deliveries pending (retrying) at once. Past it, newer alerts stay in the
    /// alert table until the queue drains (nothing is dropped; a warning is logged).</summary>
    public const int MaxPendingDeliveriesPerSink = 10_000;

    /// <summary>Alerts a sink queues, and deliveries it attempts, per pass; WatchAlerts reads as many per query.</summary>
    public const int MaxAlertsPerDeliveryBatch = 100;

    /// <summary>Longest delivery error kept with a delivery (longer ones are cut).</summary>
    public const int MaxDeliveryErrorLength = 512;

    /// <summary>Attempts a delivery may be configured to make before it is given up.</summary>
    public const int MaxDeliveryAttempts = 1_000;

    /// <summary>WatchAlerts streams open at once on one silo.</summary>
    public const int MaxAlertWatchers = 256;

    /// <summary>Longest "acknowledged by".</summary>
    public const int MaxAcknowledgedByLength = 256;

    /// <summary>Page sizes of list calls.</summary>
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1_000;

    /// <summary>Exports (docs/decisions/0035): rows read from the store per page, and the bytes a streamed chunk holds before
    /// it is sent (a chunk ends on a whole row, so it may pass this by one row). Memory per export: one page and one chunk.</summary>
    public const int ExportPageRows = 1_000;
    public const int ExportChunkBytes = 64 * 1024;

    /// <summary>Reconciliation (docs/decisions/0036): provider bills stored at once, cost lines of one import (after summing
    /// per provider, model, kind and day), the days one report or import covers, and the rows of a report (each side).</summary>
    public const int MaxBillImports = 1_000;
    public const int MaxBillLines = 100_000;
    public const int MaxReconciliationDays = 366;
    public const int MaxReconciliationRows = 20_000;

    /// <summary>Shared-cost allocation (docs/decisions/0045, 0046): pool and period entries stored at once, entries of one import,
    /// the days one entry or report covers, entries one report splits, and the tenants or features one split or report holds.</summary>
    public const int MaxSharedCosts = 10_000;
    public const int MaxSharedCostsPerImport = 1_000;
    public const int MaxAllocationDays = 366;
    public const int MaxAllocationPools = 200;
    public const int MaxAllocationScopes = 20_000;

    /// <summary>Meters (docs/decisions/0039): meters in the catalog, the longest name and unit, the largest price (nanos per
    /// <c>per_units</c> units) and <c>per_units</c>, meters one call may give, and the largest quantity of one meter in one
    /// call. A charge is at most MaxMeterQuantityPerCall × MaxMeterPriceNanos, computed in 128 bits; a call whose meters
    /// price above MaxCallAmountNanos is refused like a token usage that does.</summary>
    public const int MaxMeters = 1_000;
    public const int MaxMeterNameLength = 64;
    public const int MaxMeterUnitLength = 32;
    public const long MaxMeterPriceNanos = MaxCallAmountNanos;
    public const long MaxMeterPerUnits = 1_000_000_000;
    public const int MaxMetersPerCall = 16;
    public const long MaxMeterQuantityPerCall = 1_000_000_000_000;

    /// <summary>Meter limits (docs/decisions/0041): limits one scope's budget may set (each on another meter), and the
    /// largest quantity one may allow per period (a thousand calls of the largest quantity one call may give; sums of
    /// used and held quantities stay far from overflow in 128-bit checks).</summary>
    public const int MaxMeterLimitsPerScope = 32;
    public const long MaxMeterLimitQuantity = 1_000_000_000_000_000;

    /// <summary>Cost per outcome (docs/decisions/0042): (key, outcome) rows one report returns; past it the report says it
    /// was truncated.</summary>
    public const int MaxOutcomeReportRows = 1_000;
}
