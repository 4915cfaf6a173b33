using System.Text.Json;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Access;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Postgres.Access;
using BudgetGrains.Storage.Postgres.Alerts;
using BudgetGrains.Storage.Postgres.Budget;
using BudgetGrains.Storage.Postgres.Prices;
using BudgetGrains.Storage.Sqlite;
using BudgetGrains.Storage.Sqlite.Access;
using BudgetGrains.Storage.Sqlite.Alerts;
using BudgetGrains.Storage.Sqlite.Budget;
using BudgetGrains.Storage.Sqlite.Prices;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>
/// The read sides answer exactly as the SQLite ones: the same journal batches are written to a SQLite file and to a
/// PostgreSQL database, then every query of IBudgetStore, IAlertStore and IPriceStore is asked of both, with paging,
/// prefixes (including "_" and "%", which LIKE would misread) and byte-wise key order, and the answers compared; the
/// same for the keys and the audit log of IAccessStore.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ReadSideParityTests(PostgresFixture postgres) : IDisposable
{
    private const long P0 = 0;
    private const long P1 = 1_764_547_200_000; // a day period start
    private const long P2 = P1 + 86_400_000;

    private static readonly string[] Scopes = ["team/a", "team/a_b", "team/a%c", "team/B", "team/ab", "tenant/x", "cost_center/cc", "agent/z"];
    private static readonly JsonSerializerOptions Json = new() { IncludeFields = true };

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "budgetgrains-parity-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task EveryQueryAnswersAsOnSqlite()
    {
        var connectionString = await postgres.NewDatabaseAsync();
        Directory.CreateDirectory(_directory);
        await using var sqlite = SqliteJournalServices.Open(Path.Combine(_directory, "budgetgrains.db"));
        await using var pg = await PostgresJournalServices.OpenAsync(connectionString);
        foreach (var batch in Scenario())
        {
            await sqlite.WriteBatchAsync(batch, CancellationToken.None);
            await pg.WriteBatchAsync(batch, CancellationToken.None);
        }

        await CompareBudgetsAsync(new SqliteBudgetStore(sqlite.OpenReadConnection), new PostgresBudgetStore(pg.ReadSource));
        await CompareAlertsAsync(new SqliteAlertStore(sqlite.OpenReadConnection), new PostgresAlertStore(pg.ReadSource));
        Same(await new SqlitePriceStore(sqlite.OpenReadConnection).ReadAsync(default) is var p ? Sorted(p) : null,
            Sorted(await new PostgresPriceStore(pg.ReadSource).ReadAsync(default)), "prices");

        var access = AccessScenario();
        await sqlite.WriteBatchAsync(access, CancellationToken.None);
        await pg.WriteBatchAsync(access, CancellationToken.None);
        await CompareAccessAsync(new SqliteAccessStore(sqlite.OpenReadConnection), new PostgresAccessStore(pg.ReadSource));
    }

    /// <summary>Three keys (one revoked, a revoke repeated) and audit entries on targets sharing prefixes.</summary>
    private static JournalWrite[] AccessScenario()
    {
        StoredApiKey Key(string id, string role, string tenant) => new(id, role, tenant, "key " + id, [1, 2, 3], [4, 5, 6, 7], 100_000, 1_000, "bootstrap");
        var records = new List<IJournalRecord>
        {
            new ApiKeyCreated(Key("00000000000000b2", "agent", "acme")),
            new ApiKeyCreated(Key("00000000000000a1", "admin", "")),
            new ApiKeyCreated(Key("00000000000000c3", "viewer", "acme")),
            new ApiKeyRevoked("00000000000000b2", 2_000, "00000000000000a1"),
            new ApiKeyRevoked("00000000000000b2", 3_000, "00000000000000a1"),
        };
        foreach (var (target, i) in new[] { "team/a", "team/a_b", "team/a%c", "keys/00000000000000b2", "team/a", "prices/gpt" }.Select((t, i) => (t, i)))
            records.Add(new AuditRecorded(new AuditEntry(0, 5_000 + i, "00000000000000a1", "UpsertBudget", target, "{}", "{\"before\":" + i + "}", "{}", "127.0.0.1")));
        return [new JournalWrite(new StateKey("access", "keys"), null, records)];
    }

    private static async Task CompareAccessAsync(IAccessStore expected, IAccessStore actual)
    {
        var ct = CancellationToken.None;
        var keys = await actual.ReadKeysAsync(ct);
        Assert.Equal(3, keys.Count);
        Same(await expected.ReadKeysAsync(ct), keys, "keys");
        foreach (var prefix in new[] { "", "team/", "team/a_", "team/a%", "keys/", "none" })
            foreach (var (before, limit) in new[] { (0L, 100), (0L, 2), (4L, 2), (2L, 1) })
                Same(await expected.ListAuditAsync(prefix, before, limit, ct), await actual.ListAuditAsync(prefix, before, limit, ct),
                    $"audit '{prefix}' before {before} {limit}");
    }

    private static async Task CompareBudgetsAsync(IBudgetStore expected, IBudgetStore actual)
    {
        var ct = CancellationToken.None;
        // Not vacuous: the scenario left commits, usage groupings, open holds and history behind.
        Assert.True((await actual.SumLedgerByScopeAsync(ct)).Count > 3);
        Assert.True((await actual.ReadUsageAsync("tenant/x", P1, UsageDimensions.Model, 0, 10, ct)).Count > 1);
        Assert.True((await actual.ListOpenHoldsAsync(OpenHold.First, 100, ct)).Count > 3);
        Assert.Equal(2, (await actual.ListClosedPeriodsAsync("team/a", long.MaxValue, 10, ct)).Count);
        foreach (var scope in Scopes.Append("team/none"))
        {
            foreach (var period in new[] { P0, P1, P2 })
            {
                Same(await expected.ReadCountersAsync(scope, period, ct), await actual.ReadCountersAsync(scope, period, ct), $"counters {scope} {period}");
                Same(await expected.ReadPeriodTotalsAsync(scope, period, ct), await actual.ReadPeriodTotalsAsync(scope, period, ct), $"totals {scope} {period}");
                foreach (var dimension in UsageDimensions.All)
                    foreach (var (offset, limit) in new[] { (0, 100), (0, 2), (1, 2), (5, 2) })
                        Same(await expected.ReadUsageAsync(scope, period, dimension, offset, limit, ct),
                            await actual.ReadUsageAsync(scope, period, dimension, offset, limit, ct), $"usage {scope} {period} {dimension} {offset}/{limit}");
            }
            foreach (var (before, limit) in new[] { (long.MaxValue, 10), (P2, 10), (long.MaxValue, 1) })
                Same(await expected.ListClosedPeriodsAsync(scope, before, limit, ct), await actual.ListClosedPeriodsAsync(scope, before, limit, ct),
                    $"periods {scope} {before} {limit}");
        }
        foreach (var prefix in new[] { "", "team/", "team/a", "team/a_", "team/a%", "tenant/", "t", "zzz" })
            foreach (var (after, limit) in new[] { ("", 100), ("", 2), ("team/a", 3), ("team/a_b", 100) })
                Same(await expected.ListBudgetScopesAsync(prefix, after, limit, ct), await actual.ListBudgetScopesAsync(prefix, after, limit, ct),
                    $"scopes '{prefix}' after '{after}' {limit}");
        var (fromExpected, fromActual) = (OpenHold.First, OpenHold.First);
        for (var page = 0; page < 10; page++)
        {
            var (e, a) = (await expected.ListOpenHoldsAsync(fromExpected, 2, ct), await actual.ListOpenHoldsAsync(fromActual, 2, ct));
            Same(e, a, $"open holds page {page}");
            if (e.Count == 0) break;
            (fromExpected, fromActual) = (e[^1], a[^1]);
        }
        Same(Sorted(await expected.ReadAllCountersAsync(ct)), Sorted(await actual.ReadAllCountersAsync(ct)), "all counters");
        Same(Sorted(await expected.SumLedgerByScopeAsync(ct)), Sorted(await actual.SumLedgerByScopeAsync(ct)), "ledger by scope");
        Same(Sorted(await expected.SpentByPeriodAsync(ct)), Sorted(await actual.SpentByPeriodAsync(ct)), "spent by period");
        Same(Sorted(await expected.SumLedgerByPeriodAsync(ct)), Sorted(await actual.SumLedgerByPeriodAsync(ct)), "ledger by period");
    }

    private static async Task CompareAlertsAsync(IAlertStore expected, IAlertStore actual)
    {
        var ct = CancellationToken.None;
        var latest = await expected.LatestIdAsync(ct);
        Assert.Equal(latest, await actual.LatestIdAsync(ct));
        Assert.True(latest >= 5, "the scenario raises alerts");
        for (var id = 0L; id <= latest + 1; id++) Same(await expected.GetAsync(id, ct), await actual.GetAsync(id, ct), $"alert {id}");
        foreach (var prefix in new[] { "", "team/", "team/a_", "tenant/x", "none" })
        {
            foreach (var unacknowledged in new[] { false, true })
                foreach (var (before, limit) in new[] { (long.MaxValue, 100), (4L, 2), (latest, 1) })
                    Same(await expected.ListNewestAsync(prefix, unacknowledged, before, limit, ct),
                        await actual.ListNewestAsync(prefix, unacknowledged, before, limit, ct), $"newest '{prefix}' {unacknowledged} {before} {limit}");
            foreach (var (after, limit) in new[] { (0L, 100), (2L, 2) })
                Same(await expected.ListAfterAsync(after, prefix, limit, ct), await actual.ListAfterAsync(after, prefix, limit, ct), $"after '{prefix}' {after}");
        }
        foreach (var sink in new[] { "log", "webhook:0", "none" })
        {
            foreach (var (now, limit) in new[] { (long.MaxValue, 100), (1_500L, 100), (long.MaxValue, 1) })
                Same(await expected.DueDeliveriesAsync(sink, now, limit, ct), await actual.DueDeliveriesAsync(sink, now, limit, ct), $"due {sink} {now}");
            Same(await expected.ReadQueueAsync(sink, ct), await actual.ReadQueueAsync(sink, ct), $"queue {sink}");
        }
    }

    /// <summary>Batches as the grains write them: budgets, reserves, commits (two periods, usage groupings), releases,
    /// period closes (one reset, one rewritten), alerts with repeats, acknowledgements and deliveries, prices.</summary>
    private static IEnumerable<JournalWrite[]> Scenario()
    {
        yield return [.. Scopes.Select(s => new JournalWrite(new StateKey(GrainTypes.Scope, s), [1], []))];
        var random = new Random(17);
        for (var batch = 0; batch < 6; batch++)
        {
            var writes = new List<JournalWrite>();
            for (var i = 0; i < 20; i++)
            {
                var id = $"r-{batch}-{i}";
                var chain = new[] { Scopes[random.Next(Scopes.Length)], Scopes[random.Next(Scopes.Length)], "tenant/x" }.Distinct().ToArray();
                var period = new[] { P0, P1, P2 }[random.Next(3)];
                var estimate = random.Next(1, 500);
                var expires = 1_000 + random.Next(3) * 100; // shared expiries: the index orders by id within one
                var key = new StateKey(GrainTypes.Reservation, id);
                writes.Add(new JournalWrite(key, [(byte)i], [.. chain.Select(s => new ScopeCounterDelta(s, period, HeldNanos: estimate, OpenHolds: 1, Calls: 1,
                    DepthMaxSeen: random.Next(4))), new HoldOpened(id, expires)]));
                switch (random.Next(3))
                {
                    case 0:
                        var actual = random.Next(0, 800);
                        var (model, outcome) = (random.Next(2) == 0 ? "m-1" : "m-2", random.Next(3) == 0 ? "failed" : "ok");
                        writes.Add(new JournalWrite(key, [(byte)(i + 1)],
                        [
                            .. chain.Select(s => new ScopeCounterDelta(s, period, SpentNanos: actual, HeldNanos: -estimate, OpenHolds: -1, Commits: 1,
                                InputTokens: 10, CachedInputTokens: 1, OutputTokens: 5, ReasoningTokens: 2)),
                            .. chain.Select(s => new UsageDelta(s, period, UsageDimensions.Model, model, actual, 1, 10, 1, 5, 2)),
                            // Only some commits carry an outcome and a label: the rest make up the "" row.
                            .. random.Next(2) == 0 ? chain.Select(s => new UsageDelta(s, period, UsageDimensions.Outcome, outcome, actual, 1, 10, 1, 5, 2)) : [],
                            .. random.Next(3) == 0 ? chain.Select(s => new UsageDelta(s, period, "environment", "prod", actual, 1, 10, 1, 5, 2)) : [],
                            .. chain.Skip(1).Select(s => new UsageDelta(s, period, UsageDimensions.Child, chain[0], actual, 1, 10, 1, 5, 2)),
                            new LedgerEntry(id, chain, [.. chain.Select(_ => period)], new Dictionary<string, string> { ["model"] = model }, estimate, actual,
                                model, 10, 1, 5, 2, outcome, random.Next(5) == 0, actual > estimate, 100, 200),
                            new HoldClosed(id, expires),
                        ]));
                        break;
                    case 1:
                        writes.Add(new JournalWrite(key, [9],
                            [.. chain.Select(s => new ScopeCounterDelta(s, period, HeldNanos: -estimate, OpenHolds: -1)), new HoldClosed(id, expires)]));
                        break;
                    default:
                        if (random.Next(2) == 0)
                            writes.Add(new JournalWrite(key, [8], [.. chain.Select(s => new ScopeCounterDelta(s, period, Denials: 1, Retries: 1))]));
                        break;
                }
            }
            yield return [.. writes];
        }
        yield return
        [
            new JournalWrite(new StateKey(GrainTypes.Scope, "team/a"), [2],
            [
                new PeriodClosed("team/a", BudgetPeriod.Day, P1, P2, 10_000, "USD", false),
                new PeriodClosed("team/a", BudgetPeriod.Day, P0, P1, 5_000, "USD", true),
            ]),
            new JournalWrite(new StateKey(GrainTypes.Scope, "tenant/x"), [2], [new PeriodClosed("tenant/x", BudgetPeriod.Day, P1, P2, 1, "EUR", false)]),
        ];
        // Rewritten: the second close of the same period replaces the first.
        yield return [new JournalWrite(new StateKey(GrainTypes.Scope, "team/a"), [3], [new PeriodClosed("team/a", BudgetPeriod.Day, P1, P2 - 1, 20_000, "USD", true)])];

        AlertCandidate Alert(string scope, int threshold, AlertKind kind = AlertKind.Threshold) =>
            new(kind, scope, BudgetPeriod.Day, P1, threshold, 100 * threshold, 10_000, "USD", 1_000 + threshold, kind == AlertKind.Forecast ? 12_000 : 0, 7, 3);
        yield return [new JournalWrite(new StateKey("alerts", "outbox"), null,
            [new AlertRaised(Alert("team/a", 50)), new AlertRaised(Alert("team/a_b", 50)), new AlertRaised(Alert("team/a", 50)), new AlertRaised(Alert("tenant/x", 80))])];
        yield return [new JournalWrite(new StateKey("alerts", "outbox"), null,
            [new AlertRaised(Alert("team/a", 80)), new AlertRaised(Alert("tenant/x", 80)), new AlertRaised(Alert("team/B", 0, AlertKind.Forecast)),
             new AlertRaised(Alert("team/a%c", 0, AlertKind.Velocity))])];
        yield return [new JournalWrite(new StateKey("alerts", "outbox"), null,
        [
            new AlertAcknowledged(2, "alice", 5_000), new AlertAcknowledged(2, "bob", 6_000), new AlertAcknowledged(4, "carol", 7_000),
            new AlertDeliveryRecorded(1, new AlertDelivery("log", DeliveryState.Delivered, 1, 0, 1_100, "")),
            new AlertDeliveryRecorded(1, new AlertDelivery("webhook:0", DeliveryState.Pending, 2, 1_400, 1_200, "HTTP 503")),
            new AlertDeliveryRecorded(2, new AlertDelivery("webhook:0", DeliveryState.Pending, 0, 1_000, 1_000, "")),
            new AlertDeliveryRecorded(3, new AlertDelivery("webhook:0", DeliveryState.Pending, 1, 2_000, 1_000, "timeout")),
            new AlertDeliveryRecorded(3, new AlertDelivery("log", DeliveryState.Pending, 0, 1_000, 1_000, "")),
            new AlertDeliveryRecorded(4, new AlertDelivery("webhook:0", DeliveryState.Failed, 9, 0, 9_000, "gave up")),
            new AlertDeliveryRecorded(1, new AlertDelivery("webhook:0", DeliveryState.Delivered, 3, 0, 1_500, "")),
        ])];

        CatalogPrice Price(string model, long input, PriceSource source) => new(model, new ModelPrice(input, input / 10, input * 4, 0), "2025-08-07", source);
        yield return [new JournalWrite(new StateKey(GrainTypes.PriceCatalog, "catalog"), [1],
        [
            new PriceStored(Price("gpt-x", 2_500, PriceSource.Default)), new PriceStored(Price("claude-y", 3_000, PriceSource.Api)),
            new PriceStored(Price("old-z", 1, PriceSource.Default)), new DefaultPriceApplied("gpt-x", "2025-08-07"),
            new DefaultPriceApplied("old-z", "2025-01-01"),
        ])];
        yield return [new JournalWrite(new StateKey(GrainTypes.PriceCatalog, "catalog"), [2],
            [new PriceStored(Price("gpt-x", 2_000, PriceSource.Api)), new PriceDeleted("old-z"), new DefaultPriceApplied("old-z", "2025-08-07")])];
    }

    private static void Same<T>(T expected, T actual, string what) =>
        Assert.True(JsonSerializer.Serialize(expected, Json) == JsonSerializer.Serialize(actual, Json),
            $"{what}:\n  SQLite     {JsonSerializer.Serialize(expected, Json)}\n  PostgreSQL {JsonSerializer.Serialize(actual, Json)}");

    private static List<string> Sorted<TKey, TValue>(IReadOnlyDictionary<TKey, TValue> map) =>
        [.. map.Select(p => JsonSerializer.Serialize(p.Key, Json) + "=" + JsonSerializer.Serialize(p.Value, Json)).Order(StringComparer.Ordinal)];

    private static object Sorted(StoredPrices prices) =>
        new { Prices = prices.Prices.OrderBy(p => p.Model, StringComparer.Ordinal).ToList(), Applied = Sorted(prices.DefaultsApplied) };

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
