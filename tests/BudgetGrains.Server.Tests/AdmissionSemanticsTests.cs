using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests;

/// <summary>The admission contract of DESIGN.md §4, one behaviour per test, through real gRPC.</summary>
[Collection(SiloCollection.Name)]
public sealed class AdmissionSemanticsTests(SiloFixture silo)
{
    [Fact]
    public async Task ReserveIsAdmittedExactlyAtTheLimitAndDeniedOneNanoAbove()
    {
        var chain = Chain.Unique("at-limit");
        await chain.CreateAsync(silo.Management, generous: 1_000_000, new Dictionary<string, long> { [chain.TeamScope] = 1_000 });

        var over = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 1_001));
        var exact = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 1_000));

        Assert.Equal((Decision.Denied, DenyReason.BudgetExhausted, chain.TeamScope, 1_000L), (over.Decision, over.Reason, over.DeniedScope, over.RemainingNanos));
        Assert.Equal((Decision.Admitted, 0L, 1_000L), (exact.Decision, exact.RemainingNanos, exact.HeldNanos));
        Assert.InRange(exact.ExpiresAtUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 290_000, 300_000);
    }

    [Fact]
    public async Task EachCommitAppendsALedgerEntryWithChainLabelsAmountsTokensAndOutcome()
    {
        var chain = Chain.Unique("ledger");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        var attribution = chain.Attribution.Clone();
        attribution.Labels["model"] = SiloFixture.PricedModel;
        attribution.Labels["environment"] = "prod";
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(attribution, 500_000));
        await silo.Admission.CommitAsync(new CommitRequest
        {
            ReservationId = reserve.ReservationId,
            Usage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 100, OutputTokens = 50 },
            Outcome = "resolved",
        });

        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(silo.DataDir, "budgetgrains.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT chain, labels, estimate_nanos, actual_nanos, model, input_tokens, output_tokens, outcome, late, overage, " +
            "reserved_at_ms, committed_at_ms FROM ledger WHERE reservation_id = $id";
        query.Parameters.AddWithValue("$id", reserve.ReservationId);
        using var row = query.ExecuteReader();

        Assert.True(row.Read(), "no ledger entry for the commit");
        Assert.Equal(chain.Scopes.Order(), System.Text.Json.JsonSerializer.Deserialize<string[]>(row.GetString(0))!.Order());
        Assert.Equal(new Dictionary<string, string> { ["model"] = SiloFixture.PricedModel, ["environment"] = "prod" },
            System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(row.GetString(1)));
        Assert.Equal((500_000L, 100 * 1_000 + 50 * 4_000L, SiloFixture.PricedModel, 100L, 50L, "resolved", 0L, 0L),
            (row.GetInt64(2), row.GetInt64(3), row.GetString(4), row.GetInt64(5), row.GetInt64(6), row.GetString(7), row.GetInt64(8), row.GetInt64(9)));
        Assert.InRange(row.GetInt64(10), before, row.GetInt64(11));
        Assert.False(row.Read(), "one commit wrote more than one ledger entry");
    }

    [Fact]
    public async Task CommitBelowEstimateReturnsTheRestAtOnce()
    {
        var chain = Chain.Unique("under");
        await chain.CreateAsync(silo.Management, generous: 1_000_000, new Dictionary<string, long> { [chain.CostCenterScope] = 1_000 });
        var first = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 1_000));

        var commit = await silo.Admission.CommitAsync(new CommitRequest { ReservationId = first.ReservationId, ActualNanos = 400 });
        var next = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 600));

        Assert.Equal(new CommitResponse { ChargedNanos = 400 }, commit);
        Assert.Equal(Decision.Admitted, next.Decision);
    }

    [Fact]
    public async Task CommitAboveEstimateIsRecordedFlaggedAndDeniesLaterReserves()
    {
        var chain = Chain.Unique("overage");
        await chain.CreateAsync(silo.Management, generous: 1_000_000, new Dictionary<string, long> { [chain.FeatureScope] = 1_000 });
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 500));

        var commit = await silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = 1_200 });
        var later = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 1));

        Assert.Equal(new CommitResponse { ChargedNanos = 1_200, Overage = true }, commit);
        Assert.Equal((Decision.Denied, chain.FeatureScope, 0L), (later.Decision, later.DeniedScope, later.RemainingNanos));
        Assert.Equal(1_200, (await silo.Management.StatusAsync(chain.FeatureScope)).SpentNanos);
    }

    [Fact]
    public async Task ExpiredHoldIsReleasedByTheServerAndALateCommitStillCounts()
    {
        var chain = Chain.Unique("expiry");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 800, holdTtlMs: 1_000));

        var released = await Build.EventuallyAsync(async () => (await silo.Management.StatusAsync(chain.TeamScope)).HeldNanos == 0, TimeSpan.FromSeconds(10));
        var releaseAfterExpiry = await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = reserve.ReservationId });
        var late = await silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = 750 });

        Assert.True(released, "the hold was not released by its expiry timer");
        Assert.False(releaseAfterExpiry.Released);
        Assert.Equal(new CommitResponse { ChargedNanos = 750, Late = true }, late);
        var team = await silo.Management.StatusAsync(chain.TeamScope);
        Assert.Equal((750L, 0L, 0), (team.SpentNanos, team.HeldNanos, team.OpenHolds));
        Assert.Equal(750, (await silo.Silo.Store.SumLedgerByScopeAsync(CancellationToken.None))[chain.TeamScope]);
    }

    [Fact]
    public async Task FrozenScopeDeniesEveryReserveThroughIt()
    {
        var chain = Chain.Unique("frozen");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);
        await silo.Management.SetBudgetAsync(chain.CostCenterScope, 1_000_000, frozen: true);

        var answer = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 1));

        Assert.Equal((Decision.Denied, DenyReason.Frozen, chain.CostCenterScope), (answer.Decision, answer.Reason, answer.DeniedScope));
        Assert.Equal(0, (await silo.Management.StatusAsync(chain.AgentScope)).HeldNanos);
    }

    [Fact]
    public async Task UsageIsPricedByTheServerAndAnUnknownModelIsDeniedNeverFree()
    {
        var chain = Chain.Unique("priced");
        await chain.CreateAsync(silo.Management, generous: 1_000_000_000);
        var priced = Build.Reserve(chain.Attribution, 0);
        priced.EstimateUsage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 100, OutputTokens = 50 };
        var unknown = Build.Reserve(chain.Attribution, 0);
        unknown.EstimateUsage = new TokenUsage { Model = "no-such-model", InputTokens = 100 };

        var admitted = await silo.Admission.ReserveAsync(priced);
        var denied = await silo.Admission.ReserveAsync(unknown);
        var commit = await silo.Admission.CommitAsync(new CommitRequest
        {
            ReservationId = admitted.ReservationId,
            Usage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 100, OutputTokens = 10 },
        });

        Assert.Equal((Decision.Admitted, 100 * 1_000 + 50 * 4_000L), (admitted.Decision, admitted.HeldNanos));
        Assert.Equal((Decision.Denied, DenyReason.UnknownPrice), (denied.Decision, denied.Reason));
        Assert.Equal(100 * 1_000 + 10 * 4_000L, commit.ChargedNanos);
    }

    [Fact]
    public async Task CheckAnswersWithoutSideEffects()
    {
        var chain = Chain.Unique("check");
        await chain.CreateAsync(silo.Management, generous: 1_000_000, new Dictionary<string, long> { [chain.TeamScope] = 1_000 });
        await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 300));

        var fits = await silo.Admission.CheckAsync(new CheckRequest { Attribution = chain.Attribution, EstimateNanos = 700 });
        var tooBig = await silo.Admission.CheckAsync(new CheckRequest { Attribution = chain.Attribution, EstimateNanos = 701 });

        Assert.Equal(new CheckResponse { Decision = Decision.Admitted, RemainingNanos = 700 }, fits);
        Assert.Equal(new CheckResponse { Decision = Decision.Denied, Reason = DenyReason.BudgetExhausted, DeniedScope = chain.TeamScope, RemainingNanos = 700 }, tooBig);
        var team = await silo.Management.StatusAsync(chain.TeamScope);
        Assert.Equal((300L, 1, 0L), (team.HeldNanos, team.OpenHolds, team.Denials));
    }

    [Fact]
    public async Task CrossedThresholdsAreReportedOnceWhenTheHoldCrossesThem()
    {
        var chain = Chain.Unique("thresholds");
        await chain.CreateAsync(silo.Management, generous: 1_000_000, new Dictionary<string, long> { [chain.TeamScope] = 1_000 });

        var first = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 600));
        var second = await silo.Admission.ReserveAsync(Build.Reserve(chain.Attribution, 300));

        Assert.Equal([chain.TeamScope + ":50"], first.CrossedThresholds);
        Assert.Equal([chain.TeamScope + ":80"], second.CrossedThresholds);
    }

    [Fact]
    public async Task ChainFollowsParentLinksBeyondTheAttribution()
    {
        var chain = Chain.Unique("parents");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);

        await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Feature = chain.Feature }, 42));

        Assert.Equal(42, (await silo.Management.StatusAsync(chain.TeamScope)).HeldNanos);
        Assert.Equal(42, (await silo.Management.StatusAsync(chain.CostCenterScope)).HeldNanos);
        Assert.Equal(0, (await silo.Management.StatusAsync(chain.TenantScope)).HeldNanos);
    }

    [Fact]
    public async Task UnknownReservationIsNotFound()
    {
        var commit = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Admission.CommitAsync(new CommitRequest { ReservationId = Build.NewRequestId(), ActualNanos = 1 }).ResponseAsync);
        var release = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = Build.NewRequestId() }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, commit.StatusCode);
        Assert.Equal(StatusCode.NotFound, release.StatusCode);
    }

    [Fact]
    public async Task ParentLinkThatWouldMakeACycleIsRejected()
    {
        var chain = Chain.Unique("cycle");
        await chain.CreateAsync(silo.Management, generous: 1_000_000);

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Management.SetBudgetAsync(chain.CostCenterScope, 1, parent: chain.FeatureScope));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("cycle", error.Status.Detail);
        Assert.Equal("", (await silo.Management.StatusAsync(chain.CostCenterScope)).Parent);
    }

    [Fact]
    public async Task ListBudgetsPagesThroughAPrefixInScopeOrder()
    {
        var prefix = "budget/" + Build.UniqueKey("list");
        var scopes = Enumerable.Range(0, 7).Select(i => $"{prefix}-{i}").ToList();
        foreach (var scope in scopes) await silo.Management.SetBudgetAsync(scope, 1_000);

        var listed = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await silo.Management.ListBudgetsAsync(new ListBudgetsRequest { ScopePrefix = prefix, PageSize = 3, PageToken = token });
            listed.AddRange(page.Budgets.Select(b => b.Scope));
            token = page.NextPageToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(scopes, listed);
        Assert.Equal(3, pages);
    }
}
