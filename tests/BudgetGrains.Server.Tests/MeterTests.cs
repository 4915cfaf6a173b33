using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Grains;
using Grpc.Core;
using Microsoft.Data.Sqlite;

namespace BudgetGrains.Server.Tests;

/// <summary>Meters on the shared silo (docs/decisions/0039): the catalog, meter usage priced into reserves, checks and
/// commits, unknown meters refused, and the usage per meter and the ledger's meters that commits leave. Every test uses
/// meters and scopes of its own.</summary>
[Collection(SiloCollection.Name)]
public sealed class MeterTests(SiloFixture silo)
{
    [Fact]
    public async Task UpsertListImportAndDeleteManageTheCatalog()
    {
        var prefix = Meters.Unique("cat") + "_";
        var stored = await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(prefix + "b", 7, perUnits: 0, asOf: "2026-01-02") });
        var imported = await silo.Management.ImportMetersAsync(new ImportMetersRequest
        {
            Meters = { Meters.Of(prefix + "a", 20_000_000, perUnits: 1_000_000), Meters.Of(prefix + "b", 8, asOf: "2026-02-03") },
        });

        Assert.Equal(Meters.Of(prefix + "b", 7, perUnits: 1, asOf: "2026-01-02"), stored);
        Assert.Equal((2, 1), (imported.Imported, imported.Added));
        var listed = await silo.Management.ListMetersAsync(new ListMetersRequest { NamePrefix = prefix });
        Assert.Equal([prefix + "a", prefix + "b"], listed.Meters.Select(m => m.Name));
        Assert.Equal((20_000_000L, 1_000_000L), (listed.Meters[0].PriceNanos, listed.Meters[0].PerUnits));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", listed.Meters[0].AsOf);
        Assert.Equal((8L, "2026-02-03"), (listed.Meters[1].PriceNanos, listed.Meters[1].AsOf));

        Assert.True((await silo.Management.DeleteMeterAsync(new DeleteMeterRequest { Name = prefix + "a" })).Deleted);
        Assert.False((await silo.Management.DeleteMeterAsync(new DeleteMeterRequest { Name = prefix + "a" })).Deleted);
        Assert.Equal([prefix + "b"], (await silo.Management.ListMetersAsync(new ListMetersRequest { NamePrefix = prefix })).Meters.Select(m => m.Name));
    }

    public static TheoryData<string, string> BadMeters => new()
    {
        { "empty name", "meter.name must be 1 to 64 characters" },
        { "name over 64", "meter.name must be 1 to 64 characters" },
        { "uppercase name", "must start with a lowercase ASCII letter" },
        { "dash in name", "contains '-'" },
        { "empty unit", "unit must be 1 to 32 printable ASCII characters" },
        { "negative price", "price_nanos is -1" },
        { "per_units above the maximum", "per_units is 1000000001" },
        { "as_of not a date", "as_of '2026-13-01' is not a date" },
    };

    [Theory]
    [MemberData(nameof(BadMeters))]
    public async Task ABadMeterIsRefusedAndChangesNothing(string defect, string message)
    {
        var name = Meters.Unique("bad");
        var before = await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(name, 5, asOf: "2026-03-04") });
        var meter = Meters.Of(name, 6);
        switch (defect)
        {
            case "empty name": meter.Name = ""; break;
            case "name over 64": meter.Name = new string('a', 65); break;
            case "uppercase name": meter.Name = "Gpu_seconds"; break;
            case "dash in name": meter.Name = "gpu-seconds"; break;
            case "empty unit": meter.Unit = ""; break;
            case "negative price": meter.PriceNanos = -1; break;
            case "per_units above the maximum": meter.PerUnits = Limits.MaxMeterPerUnits + 1; break;
            case "as_of not a date": meter.AsOf = "2026-13-01"; break;
        }

        var upsert = await Assert.ThrowsAsync<RpcException>(() => silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = meter }).ResponseAsync);
        var import = await Assert.ThrowsAsync<RpcException>(() => silo.Management.ImportMetersAsync(
            new ImportMetersRequest { Meters = { Meters.Of(Meters.Unique("fine"), 1), meter } }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, upsert.StatusCode);
        Assert.Contains(message, upsert.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, import.StatusCode);
        Assert.StartsWith("meters[1]", import.Status.Detail, StringComparison.Ordinal);
        Assert.Equal([before], (await silo.Management.ListMetersAsync(new ListMetersRequest { NamePrefix = name })).Meters);
    }

    [Fact]
    public async Task MetersArePricedIntoTheHoldAndTheChargeRoundedUpToAWholeNano()
    {
        // 10 nanos per 3 seconds: 4 seconds cost ceil(40 / 3) = 14 nanos; 1M embedding tokens at $0.02 = 20,000,000.
        var (gpu, embedding) = (Meters.Unique("gpu"), Meters.Unique("emb"));
        await silo.Management.ImportMetersAsync(new ImportMetersRequest
        {
            Meters = { Meters.Of(gpu, 10, perUnits: 3, unit: "second"), Meters.Of(embedding, 20_000_000, perUnits: 1_000_000, unit: "token") },
        });
        var chain = Chain.Unique("metered");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);

        var reserve = Build.Reserve(chain.Attribution, 100);
        reserve.EstimateMeters.Add(new MeterUsage { Meter = gpu, Quantity = 4 });
        var held = await silo.Admission.ReserveAsync(reserve);
        var check = new CheckRequest { Attribution = chain.Attribution, EstimateMeters = { new MeterUsage { Meter = embedding, Quantity = 1_000_000 } } };
        var checkedAnswer = await silo.Admission.CheckAsync(check);
        var commit = new CommitRequest
        {
            ReservationId = held.ReservationId,
            Usage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 10 },
            Meters = { new MeterUsage { Meter = gpu, Quantity = 5 }, new MeterUsage { Meter = embedding, Quantity = 1_500_001 } },
        };
        var committed = await silo.Admission.CommitAsync(commit);

        Assert.Equal((Decision.Admitted, 114L, EstimateSource.Given), (held.Decision, held.HeldNanos, held.EstimateSource));
        Assert.Equal(Decision.Admitted, checkedAnswer.Decision);
        // 10 input tokens × 1,000 + ceil(50 / 3) + ceil(1,500,001 × 20,000,000 / 1,000,000) = 10,000 + 17 + 30,000,020.
        Assert.Equal(10_000 + 17 + 30_000_020L, committed.ChargedNanos);
        foreach (var scope in chain.Scopes)
        {
            var status = await silo.Management.StatusAsync(scope);
            Assert.Equal((committed.ChargedNanos, 0L), (status.SpentNanos, status.HeldNanos));
            var usage = await silo.Management.GetMeterUsageAsync(new GetMeterUsageRequest { Scope = scope });
            Assert.Equal(
                new[] { (gpu, 5L, 17L, 1L), (embedding, 1_500_001L, 30_000_020L, 1L) }.OrderBy(r => r.Item1, StringComparer.Ordinal),
                usage.Rows.Select(r => (r.Meter, r.Quantity, r.SpentNanos, r.Commits)));
        }
        Assert.Equal(new[] { (gpu, 5L, 17L), (embedding, 1_500_001L, 30_000_020L) }.OrderBy(r => r.Item1, StringComparer.Ordinal),
            LedgerMeters(held.ReservationId));
        // The same commit again is the same answer and changes nothing (I3), with the meters in another order.
        var repeated = commit.Clone();
        repeated.Meters.Clear();
        repeated.Meters.Add(commit.Meters.Reverse());
        Assert.Equal(committed, await silo.Admission.CommitAsync(repeated));
        Assert.Equal(1L, (await silo.Management.GetMeterUsageAsync(new GetMeterUsageRequest { Scope = chain.TeamScope })).Rows[0].Commits);
    }

    [Fact]
    public async Task MetersAloneAreAnEstimateAndAnActual()
    {
        var tool = Meters.Unique("tool");
        await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(tool, 2_000_000, unit: "call") });
        var chain = Chain.Unique("meters-only");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);

        var reserve = Build.Reserve(chain.Attribution, 0);
        reserve.EstimateMeters.Add(new MeterUsage { Meter = tool, Quantity = 3 });
        var held = await silo.Admission.ReserveAsync(reserve);
        var committed = await silo.Admission.CommitAsync(new CommitRequest { ReservationId = held.ReservationId, Meters = { new MeterUsage { Meter = tool, Quantity = 2 } } });

        Assert.Equal((Decision.Admitted, 6_000_000L, EstimateSource.PricedUsage), (held.Decision, held.HeldNanos, held.EstimateSource));
        Assert.Equal((4_000_000L, false), (committed.ChargedNanos, committed.Overage));
    }

    [Fact]
    public async Task AnUnknownMeterIsRefusedNamingItAndChangesNothing()
    {
        var known = Meters.Unique("known");
        var unknown = Meters.Unique("unknown");
        await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(known, 1) });
        var chain = Chain.Unique("unknown-meter");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);

        var reserve = Build.Reserve(chain.Attribution, 100);
        reserve.EstimateMeters.Add(new MeterUsage { Meter = known, Quantity = 1 });
        reserve.EstimateMeters.Add(new MeterUsage { Meter = unknown, Quantity = 1 });
        var refusedReserve = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(reserve).ResponseAsync);
        var refusedCheck = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.CheckAsync(
            new CheckRequest { Attribution = chain.Attribution, EstimateNanos = 1, EstimateMeters = { new MeterUsage { Meter = unknown, Quantity = 1 } } }).ResponseAsync);
        var admitted = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 100));
        var refusedCommit = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.CommitAsync(new CommitRequest
        {
            ReservationId = admitted.ReservationId, ActualNanos = 50, Meters = { new MeterUsage { Meter = unknown, Quantity = 1 } },
        }).ResponseAsync);

        foreach (var refused in new[] { refusedReserve, refusedCheck, refusedCommit })
        {
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains($"meter '{unknown}' is not in the meter catalog", refused.Status.Detail, StringComparison.Ordinal);
        }
        foreach (var scope in chain.Scopes)
        {
            var status = await silo.Management.StatusAsync(scope);
            Assert.Equal((0L, 100L, 1, 0L), (status.SpentNanos, status.HeldNanos, status.OpenHolds, status.Commits));
        }
        // Once the meter is in the catalog, the same request id is admitted: a refusal is not a stored answer.
        await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(unknown, 1) });
        Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(reserve)).Decision);
    }

    public static TheoryData<string, string> BadMeterUsage => new()
    {
        { "negative quantity", "estimate_meters[0].quantity of" },
        { "quantity above the maximum", "estimate_meters[0].quantity of" },
        { "meter twice", "estimate_meters[1]: meter" },
        { "too many meters", "estimate_meters has 17 entries; the limit is 16" },
        { "bad name", "estimate_meters[0].meter 'GPU' must start with a lowercase ASCII letter" },
    };

    [Theory]
    [MemberData(nameof(BadMeterUsage))]
    public async Task BadMeterUsageIsInvalidAndChangesNothing(string defect, string message)
    {
        var chain = Chain.Unique("bad-usage");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        var reserve = Build.Reserve(chain.Attribution, 100);
        var meters = reserve.EstimateMeters;
        switch (defect)
        {
            case "negative quantity": meters.Add(new MeterUsage { Meter = "gpu_seconds", Quantity = -1 }); break;
            case "quantity above the maximum": meters.Add(new MeterUsage { Meter = "gpu_seconds", Quantity = Limits.MaxMeterQuantityPerCall + 1 }); break;
            case "meter twice": meters.Add([new MeterUsage { Meter = "gpu_seconds", Quantity = 1 }, new MeterUsage { Meter = "gpu_seconds", Quantity = 2 }]); break;
            case "too many meters": meters.Add(Enumerable.Range(0, 17).Select(i => new MeterUsage { Meter = $"m{i}", Quantity = 1 })); break;
            case "bad name": meters.Add(new MeterUsage { Meter = "GPU", Quantity = 1 }); break;
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(reserve).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains(message, refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, (await silo.Management.StatusAsync(chain.TeamScope)).OpenHolds);
    }

    [Fact]
    public async Task ConcurrentMeteredCommitsSumExactlyOnEveryScope()
    {
        const int Calls = 200;
        var gpu = Meters.Unique("sum");
        await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(gpu, 7, perUnits: 2) });
        var chain = Chain.Unique("meter-sums");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);

        var charged = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, Calls).Select(i => Task.Run(async () =>
        {
            var reserve = Build.Reserve(chain.Attribution, 0);
            reserve.EstimateMeters.Add(new MeterUsage { Meter = gpu, Quantity = 10 });
            var held = await silo.Admission.ReserveAsync(reserve);
            Assert.Equal(Decision.Admitted, held.Decision);
            var answer = await silo.Admission.CommitAsync(new CommitRequest { ReservationId = held.ReservationId, Meters = { new MeterUsage { Meter = gpu, Quantity = i % 7 } } });
            charged.Add(answer.ChargedNanos);
        })));

        var quantity = Enumerable.Range(0, Calls).Sum(i => (long)(i % 7));
        // Each commit rounds up on its own: ceil(q × 7 / 2).
        var nanos = Enumerable.Range(0, Calls).Sum(i => ((i % 7) * 7L + 1) / 2);
        Assert.Equal(nanos, charged.Sum());
        foreach (var scope in chain.Scopes)
        {
            var row = Assert.Single((await silo.Management.GetMeterUsageAsync(new GetMeterUsageRequest { Scope = scope })).Rows);
            Assert.Equal((quantity, nanos, (long)Calls), (row.Quantity, row.SpentNanos, row.Commits));
            Assert.Equal(nanos, (await silo.Management.StatusAsync(scope)).SpentNanos);
        }
    }

    [Fact]
    public async Task LedgerExportsCarryEachCommitsMeters()
    {
        var gpu = Meters.Unique("export");
        await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(gpu, 3) });
        var chain = Chain.Unique("meter-export");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        var metered = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 1_000));
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = metered.ReservationId, ActualNanos = 10, Meters = { new MeterUsage { Meter = gpu, Quantity = 7 } } });
        var plain = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 1_000));
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = plain.ReservationId, ActualNanos = 10 });

        using var rest = new Rest.RestCalls(silo.Silo);
        var csv = Exports.CsvText.Records(await (await rest.SendAsync(HttpMethod.Get, "api/v1/exports/ledger?format=csv")).Content.ReadAsStringAsync(), out _)
            .ToDictionary(r => r["reservation_id"], r => r["meters"]);
        var jsonl = (await (await rest.SendAsync(HttpMethod.Get, "api/v1/exports/ledger?format=jsonl")).Content.ReadAsStringAsync())
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Single(e => e.GetProperty("reservation_id").GetString() == metered.ReservationId);
        var focus = Exports.CsvText.Records(await (await rest.SendAsync(HttpMethod.Get, "api/v1/exports/ledger?format=focus")).Content.ReadAsStringAsync(), out _)
            .ToDictionary(r => r["ResourceId"], r => r["x_Meters"]);

        var expected = $$$"""[{"meter":"{{{gpu}}}","quantity":7,"nanos":21}]""";
        Assert.Equal((expected, "[]"), (csv[metered.ReservationId], csv[plain.ReservationId]));
        Assert.Equal((expected, "[]"), (focus[metered.ReservationId], focus[plain.ReservationId]));
        var meter = Assert.Single(jsonl.GetProperty("meters").EnumerateArray());
        Assert.Equal((gpu, 7L, 21L), (meter.GetProperty("meter").GetString(), meter.GetProperty("quantity").GetInt64(), meter.GetProperty("nanos").GetInt64()));
        Assert.Equal(31L, jsonl.GetProperty("actual_nanos").GetInt64());
    }

    /// <summary>I1 for metered calls: reserves priced from meters alone, from many callers at once, against a money limit
    /// that holds exactly 25 of them, admit exactly 25: the money limit caps what the meters cost (a cap on a meter's
    /// quantity is MeterLimitTests', docs/decisions/0041).</summary>
    [Fact]
    public async Task ConcurrentMeteredReservesAdmitExactlyWhatTheMoneyLimitHolds()
    {
        const int Allowed = 25;
        var gpu = Meters.Unique("cap");
        await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(gpu, 1_000, perUnits: 3) });
        var chain = Chain.Unique("meter-cap");
        // 100 seconds at 1,000 nanos per 3 = ceil(100,000 / 3) = 33,334 nanos a hold.
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000, new Dictionary<string, long> { [chain.TeamScope] = 33_334L * Allowed });

        var answers = new ConcurrentBag<ReserveResponse>();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 4; i++)
            {
                var reserve = Build.Reserve(chain.Attribution, 0);
                reserve.EstimateMeters.Add(new MeterUsage { Meter = gpu, Quantity = 100 });
                answers.Add(await silo.Admission.ReserveAsync(reserve));
            }
        })));

        Assert.Equal(Allowed, answers.Count(a => a.Decision == Decision.Admitted));
        Assert.All(answers.Where(a => a.Decision == Decision.Denied), a => Assert.Equal((DenyReason.BudgetExhausted, chain.TeamScope), (a.Reason, a.DeniedScope)));
        foreach (var scope in chain.Scopes)
            Assert.Equal((33_334L * Allowed, Allowed), ((await silo.Management.StatusAsync(scope)).HeldNanos, (await silo.Management.StatusAsync(scope)).OpenHolds));
    }

    private List<(string Meter, long Quantity, long Nanos)> LedgerMeters(string reservationId)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(silo.DataDir, "budgetgrains.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT meter, quantity, nanos FROM ledger_meters WHERE reservation_id = $id ORDER BY meter";
        command.Parameters.AddWithValue("$id", reservationId);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, long, long)>();
        while (reader.Read()) rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        return rows;
    }
}

internal static class Meters
{
    /// <summary>A meter name of its own for one test: lowercase letters, digits and _ only.</summary>
    public static string Unique(string name) => $"{name}_{Guid.NewGuid():N}";

    public static Meter Of(string name, long priceNanos, long perUnits = 1, string unit = "unit", string asOf = "2026-03-04") =>
        new() { Name = name, Unit = unit, PriceNanos = priceNanos, PerUnits = perUnits, AsOf = asOf };
}
