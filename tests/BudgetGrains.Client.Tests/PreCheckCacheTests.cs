using System.Collections.Concurrent;
using System.Diagnostics;

namespace BudgetGrains.Client.Tests;

/// <summary>
/// The SDK's local pre-check: answered from a status stream and this client's own calls, never reporting more remaining
/// than the silo last reported less this client's unconfirmed calls (so, alone, never more than the silo has), unknown
/// when the stream is broken, stalled or stale.
/// </summary>
[Collection(WatchSilosCollection.Name)]
public sealed class PreCheckCacheTests(WatchSilosFixture silos)
{
    private static string NewKey(string name) => $"{name}-{Guid.NewGuid():N}";

    [Fact]
    public async Task ThePreCheckAnswersFromTheStreamWithTheSilosRemainingAndTheFirstScopeThatWouldDeny()
    {
        var silo = silos.Live;
        var key = NewKey("exact");
        await silo.SetBudgetAsync("team/" + key, 10_000);
        await silo.SetBudgetAsync("feature/" + key, 5_000, parent: "team/" + key);
        await silo.SetBudgetAsync("tenant/" + key, 8_000);
        await using var other = silo.NewClient();
        await other.ReserveAsync(new Attribution { Tenant = key }, 1_000);
        await other.ReserveAsync(new Attribution { Feature = key }, 500);
        await using var client = silo.NewClient();
        var attribution = new Attribution { Feature = key, Tenant = key };

        var before = client.PreCheck(attribution, 1);
        client.EnablePreCheck(attribution);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 1).IsKnown));

        Assert.Equal(new PreCheckResult(PreCheckVerdict.Unknown, null, null, null, null, PreCheckUnknownReason.NotEnabled), before);
        // feature: 5,000 − 500; team: 10,000 − 500; tenant: 8,000 − 1,000.
        var fits = client.PreCheck(attribution, 4_500);
        var over = client.PreCheck(attribution, 4_501);
        Assert.Equal((PreCheckVerdict.Fits, 4_500L), (fits.Verdict, fits.RemainingNanos));
        Assert.Equal((PreCheckVerdict.Denied, DenyReason.BudgetExhausted, "feature/" + key, 4_500L), (over.Verdict, over.Reason, over.DeniedScope, over.RemainingNanos));
        Assert.InRange(fits.Age!.Value, TimeSpan.Zero, new BudgetClientOptions().PreCheckStaleAfter);

        await silo.SetBudgetAsync("team/" + key, 10_000, frozen: true);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 1).Verdict == PreCheckVerdict.Denied));
        Assert.Equal((DenyReason.Frozen, "team/" + key), (client.PreCheck(attribution, 1).Reason, client.PreCheck(attribution, 1).DeniedScope));

        client.DisablePreCheck(attribution);
        Assert.Equal(PreCheckUnknownReason.NotEnabled, client.PreCheck(attribution, 1).UnknownReason);
    }

    [Fact]
    public async Task OwnReservesAndCommitsCountAtOnceWhileTheStreamHasNotReportedThem()
    {
        // The "still" silo never sends a status again after the first update: every change below is known to the
        // pre-check only through this client's own calls.
        var silo = silos.Still;
        var key = NewKey("own");
        var tenant = "tenant/" + key;
        await silo.SetBudgetAsync(tenant, 10_000);
        await using var client = silo.NewClient(configure: o => o.PreCheckStaleAfter = TimeSpan.FromHours(1));
        var attribution = new Attribution { Tenant = key };
        client.EnablePreCheck(attribution);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).IsKnown));
        Assert.Equal(10_000, client.PreCheck(attribution, 0).RemainingNanos);

        var first = await client.ReserveAsync(attribution, 300);
        await ExpectAsync(9_700, server: 9_700);

        await first.CommitAsync(200); // under the estimate: the 100 given back is not counted until reported
        await ExpectAsync(9_700, server: 9_800);

        var second = await client.ReserveAsync(attribution, 100);
        await second.CommitAsync(250); // 150 over the estimate
        await ExpectAsync(9_450, server: 9_550);

        var third = await client.ReserveAsync(attribution, 50);
        await third.ReleaseAsync();
        await ExpectAsync(9_400, server: 9_550);

        // A commit by reservation id, without the hold: its chain and estimate are unknown, so all of it counts.
        var fourth = await client.ReserveAsync(attribution, 40);
        await client.CommitAsync(fourth.ReservationId!, 10);
        await ExpectAsync(9_350, server: 9_540);

        // What other clients spend is not seen until the stream reports it (here: never).
        await using var other = silo.NewClient();
        await other.ReserveAsync(attribution, 9_500);
        Assert.Equal(9_350, client.PreCheck(attribution, 0).RemainingNanos);
        Assert.Equal(40, await silo.RemainingAsync(tenant));

        async Task ExpectAsync(long cached, long server)
        {
            Assert.Equal(server, await silo.RemainingAsync(tenant));
            Assert.Equal(cached, client.PreCheck(attribution, 0).RemainingNanos);
            Assert.Equal(PreCheckVerdict.Denied, client.PreCheck(attribution, cached + 1).Verdict);
        }
    }

    [Fact]
    public async Task AReserveThatFailedWithoutAnAnswerCountsUntilALaterCallIsConfirmed()
    {
        var silo = silos.Live;
        var key = NewKey("failed");
        await silo.SetBudgetAsync("tenant/" + key, 10_000);
        await using var client = silo.NewClient();
        var attribution = new Attribution { Tenant = key };
        client.EnablePreCheck(attribution);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).RemainingNanos == 10_000));

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReserveAsync(attribution, 300, cancellationToken: cancelled.Token));

        // It may have reached the silo for all the client knows: it counts, and heartbeats do not make it go away.
        Assert.Equal(9_700, client.PreCheck(attribution, 0).RemainingNanos);
        await Task.Delay(TimeSpan.FromMilliseconds(600));
        Assert.Equal(9_700, client.PreCheck(attribution, 0).RemainingNanos);
        Assert.Equal(10_000, await silo.RemainingAsync("tenant/" + key));

        // A call sent after it failed is answered; once the stream includes that one, it includes the failed one too.
        await client.ReserveAsync(attribution, 100);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).RemainingNanos == 9_900));
    }

    [Fact]
    public async Task AnOwnCallOfUnknownAmountMakesThePreCheckUnknownAndPreCheckAsyncAsksTheServer()
    {
        var silo = silos.Live;
        var key = NewKey("unknown");
        await silo.SetBudgetAsync("tenant/" + key, 10_000);
        await using var client = silo.NewClient();
        var attribution = new Attribution { Tenant = key };
        client.EnablePreCheck(attribution);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).IsKnown));
        var hold = await client.ReserveAsync(attribution, 100);

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hold.CommitAsync(new TokenUsage(SiloFixture.PricedModel, OutputTokens: 1), cancellationToken: cancelled.Token));

        var cached = client.PreCheck(attribution, 1);
        var asked = await client.PreCheckAsync(attribution, 1);
        Assert.Equal(new PreCheckResult(PreCheckVerdict.Unknown, null, null, null, null, PreCheckUnknownReason.OwnCallPending), cached);
        Assert.Equal(new PreCheckResult(PreCheckVerdict.Fits, null, null, 9_900, TimeSpan.Zero, FromServer: true), asked);

        await client.ReserveAsync(attribution, 50);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).RemainingNanos == 9_850));
    }

    [Fact]
    public async Task WithOtherClientsSpendingThePreCheckNeverExceedsTheSilosEarlierRemainingLessOwnCallsSince()
    {
        // The guarantee, checked where it can be observed: other clients only reserve and commit at or over their
        // estimate, so the silo's remaining only goes down. A status the pre-check uses was read at most Age ago, so a
        // sample of the silo taken before that has at least as much remaining; and everything this client reserved after
        // the sample, and saw admitted before the pre-check, is either in the status or counted as its own.
        var silo = silos.Live;
        var key = NewKey("race");
        var scopes = new[] { "feature/own-" + key, "team/" + key, "tenant/" + key };
        await silo.SetBudgetAsync("team/" + key, 1_000_000_000_000);
        await silo.SetBudgetAsync("feature/own-" + key, 1_000_000_000_000, parent: "team/" + key);
        await silo.SetBudgetAsync("feature/other-" + key, 1_000_000_000_000, parent: "team/" + key);
        await silo.SetBudgetAsync("tenant/" + key, 1_000_000_000_000);
        var own = new Attribution { Feature = "own-" + key, Tenant = key };
        var theirs = new Attribution { Feature = "other-" + key, Tenant = key };
        await using var client = silo.NewClient();
        client.EnablePreCheck(own);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(own, 0).IsKnown));

        var ownReserves = new ConcurrentBag<(long Sent, long Answered, long Amount)>();
        var samples = scopes.ToDictionary(s => s, _ => new ConcurrentBag<(long Received, long Remaining)>());
        var checks = new ConcurrentBag<(long At, PreCheckResult Result)>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var others = Enumerable.Range(0, 3).Select(i => silo.NewClient()).ToList();

        await Task.WhenAll([
            .. others.Select(other => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var hold = await other.ReserveAsync(theirs, Random.Shared.Next(1_000, 5_000));
                    await hold.CommitAsync(hold.HeldNanos + Random.Shared.Next(0, 500));
                }
            })),
            .. Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var sent = Stopwatch.GetTimestamp();
                    var hold = await client.ReserveAsync(own, Random.Shared.Next(1_000, 5_000));
                    ownReserves.Add((sent, Stopwatch.GetTimestamp(), hold.HeldNanos));
                    await hold.CommitAsync(hold.HeldNanos + Random.Shared.Next(0, 500));
                }
            })),
            Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                    foreach (var scope in scopes)
                    {
                        var remaining = await silo.RemainingAsync(scope);
                        samples[scope].Add((Stopwatch.GetTimestamp(), remaining));
                    }
            }),
            Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    checks.Add((Stopwatch.GetTimestamp(), client.PreCheck(own, 0)));
                    await Task.Delay(2);
                }
            }),
        ]);
        foreach (var other in others) await other.DisposeAsync();

        var sorted = samples.ToDictionary(s => s.Key, s => s.Value.OrderBy(x => x.Received).ToArray());
        var answered = checks.Where(c => c.Result.IsKnown).ToList();
        var compared = 0;
        foreach (var (at, result) in answered)
        {
            var readNoEarlierThan = at - (long)(result.Age!.Value.TotalSeconds * Stopwatch.Frequency);
            var bound = long.MaxValue;
            foreach (var scope in scopes)
            {
                var earlier = sorted[scope].LastOrDefault(s => s.Received <= readNoEarlierThan);
                if (earlier == default) continue;
                var ownSince = ownReserves.Where(r => r.Sent > earlier.Received && r.Answered < at).Sum(r => r.Amount);
                bound = Math.Min(bound, earlier.Remaining - ownSince);
            }
            if (bound == long.MaxValue) continue;
            compared++;
            Assert.True(result.RemainingNanos <= bound, $"pre-check reported {result.RemainingNanos}, over {bound} (age bound {result.Age})");
        }
        Assert.True(answered.Count >= checks.Count / 2, $"only {answered.Count} of {checks.Count} pre-checks were answered");
        Assert.True(compared >= 20, $"only {compared} pre-checks had an earlier sample to compare with");
    }

    [Fact]
    public async Task WhenTheSiloStopsThePreCheckIsUnknownWithinTheStalenessBoundAndComesBackWithIt()
    {
        var staleAfter = TimeSpan.FromSeconds(1);
        var first = await WatchSilo.StartAsync(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200));
        var (address, dataDir) = (first.Silo.Address, first.DataDir);
        var key = NewKey("stop");
        await first.SetBudgetAsync("tenant/" + key, 10_000);
        await using var client = first.NewClient(configure: o => (o.PreCheckStaleAfter, o.Timeout) = (staleAfter, TimeSpan.FromSeconds(1)));
        var attribution = new Attribution { Tenant = key };
        await client.ReserveAsync(attribution, 400);
        client.EnablePreCheck(attribution);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).RemainingNanos == 9_600));

        await first.StopAsync();
        var stopped = Stopwatch.GetTimestamp();

        // No status can arrive after the stop: from the staleness bound on, and before if the broken stream is noticed
        // first, the pre-check cannot answer.
        Assert.True(await Wait.UntilAsync(() => !client.PreCheck(attribution, 0).IsKnown, staleAfter + TimeSpan.FromSeconds(1)));
        var untilBound = staleAfter - Stopwatch.GetElapsedTime(stopped);
        if (untilBound > TimeSpan.Zero) await Task.Delay(untilBound);
        for (var i = 0; i < 10; i++)
        {
            Assert.False(client.PreCheck(attribution, 0).IsKnown);
            await Task.Delay(50);
        }
        await Assert.ThrowsAnyAsync<BudgetException>(() => client.PreCheckAsync(attribution, 0));

        await using var second = await WatchSilo.StartAsync(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), $"127.0.0.1:{address.Port}", dataDir);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).IsKnown));
        Assert.Equal(9_600, client.PreCheck(attribution, 0).RemainingNanos);
    }

    [Fact]
    public async Task AStalledStreamAnswersOnlyWhileItsStatusesAreWithinTheStalenessBound()
    {
        var staleAfter = TimeSpan.FromSeconds(1);
        var silo = silos.Live;
        var key = NewKey("stall");
        await silo.SetBudgetAsync("tenant/" + key, 10_000);
        await using var proxy = new DroppingProxy(silo.Silo.Address);
        await using var client = silo.NewClient(proxy.Address, o => o.PreCheckStaleAfter = staleAfter);
        var attribution = new Attribution { Tenant = key };
        client.EnablePreCheck(attribution);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).IsKnown));

        proxy.Stall();
        var stalled = Stopwatch.GetTimestamp();
        var answers = new List<(TimeSpan SinceStall, PreCheckResult Result)>();
        while (Stopwatch.GetElapsedTime(stalled) < 2 * staleAfter)
        {
            var since = Stopwatch.GetElapsedTime(stalled);
            answers.Add((since, client.PreCheck(attribution, 0)));
            await Task.Delay(10);
        }

        // Nothing the silo read after the stall reached the client: an answer is at least as old as the stall.
        Assert.All(answers.Where(a => a.Result.IsKnown), a => Assert.True(a.SinceStall <= staleAfter, $"answered {a.SinceStall} after the stall"));
        Assert.False(answers[^1].Result.IsKnown);
        proxy.Resume();
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(attribution, 0).IsKnown));
    }

    [Fact]
    public async Task TheCacheIsEnabledForAtMostTheConfiguredNumberOfChains()
    {
        await using var client = silos.Live.NewClient(configure: o => o.MaxPreCheckChains = 1);
        var a = new Attribution { Tenant = NewKey("a") };
        var b = new Attribution { Tenant = NewKey("b") };

        client.EnablePreCheck(a);
        client.EnablePreCheck(a with { Labels = new Dictionary<string, string> { ["model"] = "m" } });
        var refused = Assert.Throws<InvalidOperationException>(() => client.EnablePreCheck(b));
        client.DisablePreCheck(a);
        client.EnablePreCheck(b);

        Assert.Contains("MaxPreCheckChains", refused.Message);
        Assert.Equal(PreCheckUnknownReason.NotEnabled, client.PreCheck(a, 0).UnknownReason);
        Assert.True(await Wait.UntilAsync(() => client.PreCheck(b, 0).IsKnown));
    }
}
