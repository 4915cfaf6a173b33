using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Grains;
using Grpc.Core;

namespace BudgetGrains.Server.Tests;

/// <summary>Limits per meter on a scope (docs/decisions/0041) on the shared silo: I1 for a meter limit under concurrency,
/// quantity given back by commit, release and expiry, the deny naming scope and meter, and bad limits refused. Every test
/// uses meters and scopes of its own.</summary>
[Collection(SiloCollection.Name)]
public sealed class MeterLimitTests(SiloFixture silo)
{
    private const int Callers = 64;
    private const int AttemptsPerCaller = 8;
    private const long Seconds = 60;
    private const int AllowedHolds = 37;

    /// <summary>
    /// Two features under two teams share a cost center whose gpu_seconds are capped at 37 reserves' worth; money is
    /// plentiful everywhere. 512 reserves from 64 callers at once: exactly 37 are admitted, every other is denied
    /// METER_LIMIT at the cost center naming the meter, and used + held never passes the limit.
    /// </summary>
    [Fact]
    public async Task ConcurrentReservesAdmitExactlyWhatTheMeterLimitOfASharedAncestorAllows()
    {
        var gpu = await MeterAsync("i1_gpu");
        var key = Build.UniqueKey("i1-meter");
        var costCenter = "cost_center/" + key;
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest
        {
            Scope = costCenter, LimitNanos = 1_000_000_000_000, MeterLimits = { new MeterLimit { Meter = gpu, MaxQuantity = Seconds * AllowedHolds } },
        });
        Attribution[] attributions = [new() { Feature = key + "-a", Team = key + "-a" }, new() { Feature = key + "-b", Team = key + "-b" }];
        foreach (var a in attributions)
        {
            await silo.Management.SetBudgetAsync("team/" + a.Team, 1_000_000_000_000, parent: costCenter);
            await silo.Management.SetBudgetAsync("feature/" + a.Feature, 1_000_000_000_000, parent: "team/" + a.Team);
        }

        var answers = new ConcurrentBag<ReserveResponse>();
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; i < AttemptsPerCaller; i++)
                answers.Add(await silo.Admission.ReserveAsync(Metered(attributions[(caller + i) % 2], 1_000, gpu, Seconds)));
        })));

        Assert.Equal(AllowedHolds, answers.Count(a => a.Decision == Decision.Admitted));
        var denied = answers.Where(a => a.Decision == Decision.Denied).ToList();
        Assert.Equal(Callers * AttemptsPerCaller - AllowedHolds, denied.Count);
        Assert.All(denied, d => Assert.Equal((DenyReason.MeterLimit, costCenter, gpu, 0L), (d.Reason, d.DeniedScope, d.DeniedMeter, d.RemainingMeterQuantity)));
        var limit = Assert.Single((await silo.Management.StatusAsync(costCenter)).Meters);
        Assert.Equal((gpu, Seconds * AllowedHolds, 0L, Seconds * AllowedHolds), (limit.Meter, limit.MaxQuantity, limit.UsedQuantity, limit.HeldQuantity));
        // Denied reserves left nothing held on the scopes they passed first (each hold: 1,000 nanos + 60 seconds at 1 nano).
        var heldByTeams = 0L;
        foreach (var a in attributions) heldByTeams += (await silo.Management.StatusAsync("team/" + a.Team)).HeldNanos;
        Assert.Equal((1_000L + Seconds) * AllowedHolds, heldByTeams);

        // Half are committed at their estimate and half released: the freed quantity admits exactly as many again.
        var admitted = answers.Where(a => a.Decision == Decision.Admitted).ToList();
        for (var i = 0; i < admitted.Count; i++)
        {
            if (i % 2 == 0)
                await silo.Admission.CommitAsync(new CommitRequest { ReservationId = admitted[i].ReservationId, Meters = { Usage(gpu, Seconds) } });
            else
                await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = admitted[i].ReservationId });
        }
        var released = admitted.Count / 2;
        var again = await Task.WhenAll(Enumerable.Range(0, Callers).Select(i => silo.Admission.ReserveAsync(Metered(attributions[i % 2], 1_000, gpu, Seconds)).ResponseAsync));
        Assert.Equal(released, again.Count(a => a.Decision == Decision.Admitted));
        limit = Assert.Single((await silo.Management.StatusAsync(costCenter)).Meters);
        Assert.Equal((Seconds * (AllowedHolds - released), Seconds * released), (limit.UsedQuantity, limit.HeldQuantity));
    }

    [Fact]
    public async Task CommitReleaseAndExpiryGiveTheQuantityBack()
    {
        var gpu = await MeterAsync("give_back");
        var chain = Chain.Unique("meter-give-back");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        await LimitAsync(chain.TeamScope, gpu, 10);

        var first = await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 6));
        var tooMuch = await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 5));
        var check = await silo.Admission.CheckAsync(new CheckRequest { Attribution = chain.Attribution, EstimateMeters = { Usage(gpu, 5) } });
        Assert.Equal(Decision.Admitted, first.Decision);
        Assert.Equal((Decision.Denied, DenyReason.MeterLimit, chain.TeamScope, gpu, 4L), (tooMuch.Decision, tooMuch.Reason, tooMuch.DeniedScope, tooMuch.DeniedMeter, tooMuch.RemainingMeterQuantity));
        Assert.Equal((Decision.Denied, DenyReason.MeterLimit, chain.TeamScope, gpu, 4L), (check.Decision, check.Reason, check.DeniedScope, check.DeniedMeter, check.RemainingMeterQuantity));
        Assert.Equal((0L, 6L), await TakenAsync(chain.TeamScope));

        // The commit replaces the hold of 6 by the 3 used.
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = first.ReservationId, Meters = { Usage(gpu, 3) } });
        Assert.Equal((3L, 0L), await TakenAsync(chain.TeamScope));
        var fits = await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 7));
        Assert.Equal(Decision.Admitted, fits.Decision);
        Assert.Equal(DenyReason.MeterLimit, (await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 1))).Reason);

        // A release gives the hold back.
        await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = fits.ReservationId });
        Assert.Equal((3L, 0L), await TakenAsync(chain.TeamScope));

        // So does an expiry.
        var expiring = await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 7, holdTtlMs: Limits.MinHoldTtlMs));
        Assert.Equal(Decision.Admitted, expiring.Decision);
        Assert.Equal((3L, 7L), await TakenAsync(chain.TeamScope));
        Assert.True(await Build.EventuallyAsync(async () => await TakenAsync(chain.TeamScope) == (3L, 0L), TimeSpan.FromSeconds(20)),
            "the expired hold kept its quantity");

        // A reset closes the period: nothing used any more, open holds stay held.
        var open = await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 2));
        await silo.Management.ResetBudgetAsync(new ResetBudgetRequest { Scope = chain.TeamScope });
        Assert.Equal((0L, 2L), await TakenAsync(chain.TeamScope));
        await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = open.ReservationId });
    }

    [Fact]
    public async Task ACallWithoutTheLimitedMeterIsNotDeniedByItAndACommitAboveTheEstimateStopsTheNext()
    {
        var (gpu, queries) = (await MeterAsync("limited"), await MeterAsync("unlimited"));
        var chain = Chain.Unique("meter-other");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        await LimitAsync(chain.TenantScope, gpu, 10);

        var held = await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 10));
        await silo.Admission.CommitAsync(new CommitRequest { ReservationId = held.ReservationId, Meters = { Usage(gpu, 25) } });

        // Used is past the limit (the quantity was used): a call estimating any of the meter is denied with 0 left...
        var denied = await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 1));
        Assert.Equal((DenyReason.MeterLimit, chain.TenantScope, gpu, 0L), (denied.Reason, denied.DeniedScope, denied.DeniedMeter, denied.RemainingMeterQuantity));
        // ...while calls that do not name it go on: in money only, or with another meter.
        Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 100))).Decision);
        Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, queries, 1_000))).Decision);
        // A call that names the meter is denied even with none of it: the scope is past its limit, as money past a limit.
        Assert.Equal(DenyReason.MeterLimit, (await silo.Admission.ReserveAsync(Metered(chain.Attribution, 100, gpu, 0))).Reason);
        Assert.Equal((25L, 0L), await TakenAsync(chain.TenantScope));
    }

    [Fact]
    public async Task MeterLimitsAreReplacedAsASetKeptByOtherChangesAndRemovedWhenNamedEmpty()
    {
        var (a, b) = (await MeterAsync("set_a"), await MeterAsync("set_b"));
        var scope = "team/" + Build.UniqueKey("meter-set");
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest
        {
            Scope = scope, LimitNanos = 1_000, MeterLimits = { new MeterLimit { Meter = b, MaxQuantity = 5 }, new MeterLimit { Meter = a, MaxQuantity = 7 } },
        });
        var kept = await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 2_000 });
        var replaced = await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, MeterLimits = { new MeterLimit { Meter = b, MaxQuantity = 9 } } });
        var removed = await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, UpdateMask = new() { Paths = { "meter_limits" } } });

        Assert.Equal([(a, 7L), (b, 5L)], kept.Meters.Select(m => (m.Meter, m.MaxQuantity)));
        Assert.Equal(2_000L, kept.LimitNanos);
        Assert.Equal([(b, 9L)], replaced.Meters.Select(m => (m.Meter, m.MaxQuantity)));
        Assert.Empty(removed.Meters);
        Assert.Equal(2_000L, removed.LimitNanos);
    }

    public static TheoryData<string, StatusCode, string> BadLimits => new()
    {
        { "unknown meter", StatusCode.FailedPrecondition, "meter 'not_in_catalog_meter' is not in the meter catalog" },
        { "negative quantity", StatusCode.InvalidArgument, "meter_limits[0].max_quantity of {0} is -1; it must be between 1 and" },
        { "zero quantity", StatusCode.InvalidArgument, "meter_limits[0].max_quantity of {0} is 0" },
        { "quantity above the maximum", StatusCode.InvalidArgument, $"is {Limits.MaxMeterLimitQuantity + 1}; it must be between 1 and {Limits.MaxMeterLimitQuantity}" },
        { "too many limits", StatusCode.InvalidArgument, $"meter_limits has {Limits.MaxMeterLimitsPerScope + 1} entries; the limit is {Limits.MaxMeterLimitsPerScope}" },
        { "meter twice", StatusCode.InvalidArgument, "meter_limits[1]: meter {0} is also meter_limits[0]" },
        { "bad name", StatusCode.InvalidArgument, "meter_limits[0].meter 'GPU' must start with a lowercase ASCII letter" },
    };

    [Theory]
    [MemberData(nameof(BadLimits))]
    public async Task ABadMeterLimitIsRefusedAndChangesNothing(string defect, StatusCode code, string message)
    {
        var gpu = await MeterAsync("bad_limit");
        var scope = "team/" + Build.UniqueKey("meter-bad");
        await silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest { Scope = scope, LimitNanos = 500, MeterLimits = { new MeterLimit { Meter = gpu, MaxQuantity = 3 } } });
        var before = await silo.Management.StatusAsync(scope);
        var request = new UpsertBudgetRequest { Scope = scope, LimitNanos = 900 };
        var limit = new MeterLimit { Meter = gpu, MaxQuantity = 4 };
        switch (defect)
        {
            case "unknown meter": limit.Meter = "not_in_catalog_meter"; break;
            case "negative quantity": limit.MaxQuantity = -1; break;
            case "zero quantity": limit.MaxQuantity = 0; break;
            case "quantity above the maximum": limit.MaxQuantity = Limits.MaxMeterLimitQuantity + 1; break;
            case "too many limits":
                request.MeterLimits.AddRange(Enumerable.Range(0, Limits.MaxMeterLimitsPerScope).Select(i => new MeterLimit { Meter = $"m{i}", MaxQuantity = 1 }));
                break;
            case "meter twice": request.MeterLimits.Add(limit.Clone()); break;
            case "bad name": limit.Meter = "GPU"; break;
        }
        request.MeterLimits.Add(limit);

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Management.UpsertBudgetAsync(request).ResponseAsync);

        Assert.Equal(code, error.StatusCode);
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, message, gpu), error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await silo.Management.StatusAsync(scope));
    }

    /// <summary>A meter of the catalog for one test, at 1 nano per unit.</summary>
    private async Task<string> MeterAsync(string name)
    {
        var meter = Meters.Unique(name);
        await silo.Management.UpsertMeterAsync(new UpsertMeterRequest { Meter = Meters.Of(meter, 1, unit: "second") });
        return meter;
    }

    private Task LimitAsync(string scope, string meter, long max) => silo.Management.UpsertBudgetAsync(new UpsertBudgetRequest
    {
        Scope = scope, MeterLimits = { new MeterLimit { Meter = meter, MaxQuantity = max } },
    }).ResponseAsync;

    private async Task<(long Used, long Held)> TakenAsync(string scope)
    {
        var limit = Assert.Single((await silo.Management.StatusAsync(scope)).Meters);
        return (limit.UsedQuantity, limit.HeldQuantity);
    }

    internal static ReserveRequest Metered(Attribution attribution, long estimateNanos, string meter, long quantity, long holdTtlMs = 0)
    {
        var reserve = Build.Reserve(attribution, estimateNanos, holdTtlMs: holdTtlMs);
        reserve.EstimateMeters.Add(Usage(meter, quantity));
        return reserve;
    }

    internal static MeterUsage Usage(string meter, long quantity) => new() { Meter = meter, Quantity = quantity };
}
