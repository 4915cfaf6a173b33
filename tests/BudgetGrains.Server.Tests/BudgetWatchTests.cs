using System.Collections.Concurrent;
using BudgetGrains.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>
/// Admission.WatchBudgets: the chain in admission order, every status first, then changes, heartbeats, and the promise
/// that an update whose mark is larger than a Reserve's or Commit's status_mark includes that call.
/// </summary>
public sealed class BudgetWatchTests : IAsyncLifetime
{
    private const int MaxStreams = 3;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-watch-" + Guid.NewGuid().ToString("N"));
    private Silo _silo = null!;
    private GrpcChannel _channel = null!;
    private AdmissionClient _admission = null!;
    private ManagementClient _management = null!;

    public async Task InitializeAsync()
    {
        _silo = await StartSiloAsync(_dataDir);
        _channel = GrpcChannel.ForAddress(_silo.Address);
        (_admission, _management) = (new AdmissionClient(_channel), new ManagementClient(_channel));
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _silo.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private static Task<Silo> StartSiloAsync(string dataDir) => Silo.StartAsync(new SiloOptions
    {
        Listen = "127.0.0.1:0",
        DataDir = dataDir,
        BudgetWatchInterval = TimeSpan.FromMilliseconds(50),
        BudgetWatchHeartbeat = TimeSpan.FromMilliseconds(200),
        MaxBudgetWatchStreams = MaxStreams,
    }, l => l.SetMinimumLevel(LogLevel.Warning));

    [Fact]
    public async Task TheFirstUpdateListsTheChainInAdmissionOrderWithEveryStatusThenOnlyChangesAreSent()
    {
        var chain = Chain.Unique("order");
        await chain.CreateAsync(_management, generous: 1_000_000);
        await using var watch = Watch.Start(_admission, new WatchBudgetsRequest { Attribution = chain.Attribution });

        var first = await watch.NextAsync();
        Assert.Equal([chain.AgentScope, chain.TeamScope, chain.CostCenterScope, chain.FeatureScope, chain.TenantScope], first.Chain);
        Assert.Equal(first.Chain.Order(), first.Budgets.Select(b => b.Scope).Order());
        Assert.All(first.Budgets, b => Assert.Equal(1_000_000, b.LimitNanos));

        var (_, reserveMark) = await _admission.ReserveWithStatusMarkAsync(Build.Reserve(new Attribution { Tenant = chain.Tenant }, 250));
        var change = await watch.NextAsync(u => u.Budgets.Count > 0);
        await watch.NextAsync(u => u.CurrentAsOfMark > reserveMark);

        Assert.Equal((chain.TenantScope, 250L, 1), (change.Budgets.Single().Scope, change.Budgets.Single().HeldNanos, change.Budgets.Single().OpenHolds));
        Assert.Empty(change.Chain);
        // Sent in the first update and once more when it changed: later updates (heartbeats) do not repeat it.
        Assert.Equal(2, watch.Received.Count(u => u.Budgets.Any(b => b.Scope == chain.TenantScope)));
    }

    [Fact]
    public async Task ReserveAndCommitAnswersCarryAStatusMarkAndARepeatGetsTheSameMessageWithALaterMark()
    {
        var request = Build.Reserve(new Attribution { Tenant = Build.UniqueKey("mark") }, 100);

        var (first, firstMark) = await _admission.ReserveWithStatusMarkAsync(request);
        var (again, againMark) = await _admission.ReserveWithStatusMarkAsync(request);
        var (commit, commitMark) = await _admission.CommitWithStatusMarkAsync(new CommitRequest { ReservationId = first.ReservationId, ActualNanos = 80 });

        Assert.Equal(first, again);
        Assert.Equal(80, commit.ChargedNanos);
        Assert.True(firstMark > 0 && firstMark < againMark && againMark < commitMark, $"{firstMark} {againMark} {commitMark}");
    }

    [Fact]
    public async Task WithoutChangesHeartbeatsKeepComingWithGrowingMarks()
    {
        var tenant = "tenant/" + Build.UniqueKey("quiet");
        await _management.SetBudgetAsync(tenant, 1_000);
        await using var watch = Watch.Start(_admission, new WatchBudgetsRequest { Scopes = { tenant } });
        var first = await watch.NextAsync();

        var second = await watch.NextAsync();
        var third = await watch.NextAsync();

        Assert.Equal([tenant], first.Chain);
        Assert.Empty(second.Budgets);
        Assert.Empty(third.Budgets);
        Assert.True(first.CurrentAsOfMark < second.CurrentAsOfMark && second.CurrentAsOfMark < third.CurrentAsOfMark);
    }

    [Fact]
    public async Task EveryUpdateIncludesEveryReserveAndCommitAnsweredWithASmallerMark()
    {
        var tenant = Build.UniqueKey("marks");
        await _management.SetBudgetAsync("tenant/" + tenant, 1_000_000_000);
        await using var watch = Watch.Start(_admission, new WatchBudgetsRequest { Scopes = { "tenant/" + tenant } });
        await watch.NextAsync();

        var reserveMarks = new ConcurrentBag<long>();
        var commits = new ConcurrentBag<(long Mark, long Charged)>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                var (reserve, reserveMark) = await _admission.ReserveWithStatusMarkAsync(Build.Reserve(new Attribution { Tenant = tenant }, 100));
                reserveMarks.Add(reserveMark);
                if (i % 2 == 0) continue;
                var (commit, commitMark) = await _admission.CommitWithStatusMarkAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = worker + i });
                commits.Add((commitMark, commit.ChargedNanos));
            }
        })));
        var last = Math.Max(reserveMarks.Max(), commits.Max(c => c.Mark));
        await watch.NextAsync(u => u.CurrentAsOfMark > last);

        // The tenant's status as the stream had sent it at each update: nothing is released, so every reserve admitted
        // before the mark is still open or committed, and every commit before it is spent.
        var checkedUpdates = 0;
        foreach (var (status, mark) in watch.StatusesAt("tenant/" + tenant))
        {
            Assert.True(status.OpenHolds + status.Commits >= reserveMarks.Count(m => m < mark), $"update at {mark} misses reserves");
            Assert.True(status.SpentNanos >= commits.Where(c => c.Mark < mark).Sum(c => c.Charged), $"update at {mark} misses commits");
            checkedUpdates++;
        }
        Assert.True(checkedUpdates >= 2);
        var final = watch.StatusesAt("tenant/" + tenant).Last().Status;
        Assert.Equal((200L, commits.Sum(c => c.Charged)), (final.OpenHolds + final.Commits, final.SpentNanos));
    }

    [Fact]
    public async Task AParentLinkChangeSendsTheNewChainWithTheNewAncestorsStatus()
    {
        var key = Build.UniqueKey("relink");
        await _management.SetBudgetAsync("team/a-" + key, 1_000);
        await _management.SetBudgetAsync("team/b-" + key, 2_000);
        await _management.SetBudgetAsync("feature/" + key, 500, parent: "team/a-" + key);
        await using var watch = Watch.Start(_admission, new WatchBudgetsRequest { Attribution = new Attribution { Feature = key } });
        Assert.Equal(["feature/" + key, "team/a-" + key], (await watch.NextAsync()).Chain);

        await _management.SetBudgetAsync("feature/" + key, 500, parent: "team/b-" + key);
        var relinked = await watch.NextAsync(u => u.Chain.Count > 0);

        Assert.Equal(["feature/" + key, "team/b-" + key], relinked.Chain);
        Assert.Contains(relinked.Budgets, b => b.Scope == "team/b-" + key && b.LimitNanos == 2_000);
    }

    [Fact]
    public async Task StreamsBeyondTheLimitAndBadRequestsAreRefused()
    {
        var tenant = "tenant/" + Build.UniqueKey("limit");
        var open = new List<Watch>();
        for (var i = 0; i < MaxStreams; i++)
        {
            open.Add(Watch.Start(_admission, new WatchBudgetsRequest { Scopes = { tenant } }));
            await open[^1].NextAsync();
        }

        var tooMany = await FirstErrorAsync(new WatchBudgetsRequest { Scopes = { tenant } });
        foreach (var watch in open) await watch.DisposeAsync();
        var badScope = await FirstErrorAsync(new WatchBudgetsRequest { Scopes = { "nokind" } });
        var nothing = await FirstErrorAsync(new WatchBudgetsRequest());
        var tooManyNamed = new WatchBudgetsRequest();
        tooManyNamed.Scopes.AddRange(Enumerable.Range(0, 33).Select(i => $"budget/b{i}"));
        var overLimit = await FirstErrorAsync(tooManyNamed);

        Assert.Equal(StatusCode.ResourceExhausted, tooMany.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, badScope.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, nothing.StatusCode);
        Assert.Equal((StatusCode.InvalidArgument, true), (overLimit.StatusCode, overLimit.Status.Detail.Contains("32", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AChainThatGrowsPastTheWatchLimitThroughParentsEndsTheStream()
    {
        // Three chains of twelve scopes each: 36 watched scopes, over the 32 a stream may watch.
        var key = Build.UniqueKey("long");
        var request = new WatchBudgetsRequest();
        for (var c = 0; c < 3; c++)
        {
            for (var i = 11; i >= 0; i--)
                await _management.SetBudgetAsync($"team/{key}-{c}-{i}", 1_000, parent: i == 11 ? "" : $"team/{key}-{c}-{i + 1}");
            request.Scopes.Add($"team/{key}-{c}-0");
        }

        var error = await FirstErrorAsync(request);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task StoppingTheSiloEndsOpenStreamsWithUnavailable()
    {
        var dataDir = _dataDir + "-stop";
        var silo = await StartSiloAsync(dataDir);
        using var channel = GrpcChannel.ForAddress(silo.Address);
        var watch = Watch.Start(new AdmissionClient(channel), new WatchBudgetsRequest { Scopes = { "tenant/stop" } });
        await watch.NextAsync();

        await silo.DisposeAsync();
        var ended = await Assert.ThrowsAsync<RpcException>(() => watch.Completion.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.True(ended.StatusCode is StatusCode.Unavailable or StatusCode.Internal, ended.ToString());
        await watch.DisposeAsync();
        Directory.Delete(dataDir, recursive: true);
    }

    [Theory]
    [InlineData(0, 1_000, "BudgetWatchInterval")]
    [InlineData(500, 100, "BudgetWatchHeartbeat")]
    public async Task BadWatchSettingsStopTheSiloFromStartingWithAMessageNamingThem(int intervalMs, int heartbeatMs, string setting)
    {
        var dataDir = _dataDir + "-bad";
        var options = new SiloOptions
        {
            Listen = "127.0.0.1:0",
            DataDir = dataDir,
            BudgetWatchInterval = TimeSpan.FromMilliseconds(intervalMs),
            BudgetWatchHeartbeat = TimeSpan.FromMilliseconds(heartbeatMs),
        };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Silo.StartAsync(options));

        Assert.Contains(setting, error.Message);
        Assert.False(Directory.Exists(dataDir));
    }

    private async Task<RpcException> FirstErrorAsync(WatchBudgetsRequest request)
    {
        await using var watch = Watch.Start(_admission, request);
        return await Assert.ThrowsAsync<RpcException>(() => watch.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>A WatchBudgets stream read in the background: each update as it came, and the statuses as they stood then.</summary>
    private sealed class Watch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cancel = new();
        private readonly List<BudgetWatchUpdate> _updates = [];
        private readonly SemaphoreSlim _arrived = new(0);
        private int _taken;

        private Watch(AdmissionClient admission, WatchBudgetsRequest request) =>
            Completion = Task.Run(async () =>
            {
                await foreach (var update in admission.WatchBudgetsAsync(request, new CallOptions(cancellationToken: _cancel.Token)))
                {
                    lock (_updates) _updates.Add(update);
                    _arrived.Release();
                }
            });

        /// <summary>Ends with the stream: an RpcException when the server ended it with an error.</summary>
        public Task Completion { get; }

        public static Watch Start(AdmissionClient admission, WatchBudgetsRequest request) => new(admission, request);

        /// <summary>The next update not yet taken that matches <paramref name="match"/> (skipping others); fails after 30 s.</summary>
        public async Task<BudgetWatchUpdate> NextAsync(Func<BudgetWatchUpdate, bool>? match = null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                var arrived = _arrived.WaitAsync(timeout.Token);
                if (await Task.WhenAny(arrived, Completion) == Completion && !arrived.IsCompleted)
                {
                    await Completion;
                    throw new InvalidOperationException("the stream ended");
                }
                await arrived;
                BudgetWatchUpdate update;
                lock (_updates) update = _updates[_taken++];
                if (match is null || match(update)) return update;
            }
        }

        /// <summary>Every update so far.</summary>
        public IReadOnlyList<BudgetWatchUpdate> Received
        {
            get
            {
                lock (_updates) return [.. _updates];
            }
        }

        /// <summary>For each update so far: the status of <paramref name="scope"/> as the stream had sent it, and the update's mark.</summary>
        public IReadOnlyList<(BudgetStatus Status, long Mark)> StatusesAt(string scope)
        {
            var result = new List<(BudgetStatus, long)>();
            BudgetStatus? current = null;
            lock (_updates)
            {
                foreach (var update in _updates)
                {
                    current = update.Budgets.LastOrDefault(b => b.Scope == scope) ?? current;
                    if (current is not null) result.Add((current, update.CurrentAsOfMark));
                }
            }
            return result;
        }

        public async ValueTask DisposeAsync()
        {
            await _cancel.CancelAsync();
            try
            {
                await Completion;
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                // Cancelled by us, or ended by the server: either way the stream is over.
            }
            _cancel.Dispose();
        }
    }
}
