using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BudgetGrains.Client.Tests;

/// <summary>Deadlines, retries and lost answers: the SDK retries with the same ids, and the server charges once.</summary>
[Collection(SiloCollection.Name)]
public sealed class TransportTests(SiloFixture silo)
{
    [Fact]
    public async Task ARetryAfterALostAnswerDoesNotChargeTwice()
    {
        var tenant = await silo.NewTenantAsync("lost", limitNanos: 1_000);
        await using var proxy = new DroppingProxy(silo.Silo.Address);
        await using var client = silo.NewClient(proxy.Address);

        proxy.DropNextResponse();
        await using var hold = await client.ReserveAsync(new Attribution { Tenant = tenant }, 400);

        Assert.True(hold.Admitted);
        Assert.Equal(600, hold.RemainingNanos);
        Assert.Equal((1, 2), (proxy.Dropped, proxy.Connections));
        var afterReserve = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((400L, 1), (afterReserve.HeldNanos, afterReserve.OpenHolds));

        proxy.DropNextResponse();
        var commit = await hold.CommitAsync(300);

        Assert.Equal(new CommitResult(300, Late: false, Overage: false), commit);
        Assert.Equal((2, 3), (proxy.Dropped, proxy.Connections));
        var afterCommit = await silo.StatusAsync("tenant/" + tenant);
        Assert.Equal((300L, 0L, 0, 1L), (afterCommit.SpentNanos, afterCommit.HeldNanos, afterCommit.OpenHolds, afterCommit.Commits));
    }

    [Fact]
    public async Task AServerThatDoesNotAnswerGivesATypedTimeoutWithinTheDeadline()
    {
        // Accepts connections and never answers: every attempt hangs until its deadline.
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var address = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}");
            await using var client = silo.NewClient(address, o =>
            {
                o.Timeout = TimeSpan.FromMilliseconds(600);
                o.AttemptTimeout = TimeSpan.FromMilliseconds(150);
            });
            var watch = Stopwatch.StartNew();

            var timeout = await Assert.ThrowsAsync<BudgetTimeoutException>(() => client.CheckAsync(new Attribution { Tenant = "t" }, 1));

            Assert.Equal(BudgetErrorCode.DeadlineExceeded, timeout.Code);
            Assert.InRange(timeout.Attempts, 2, 4);
            Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(3));
        }
        finally
        {
            silent.Stop();
        }
    }

    [Fact]
    public async Task NoServerGivesUnavailableAfterTheConfiguredAttempts()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using var client = silo.NewClient(new Uri($"http://127.0.0.1:{port}"), o => o.MaxAttempts = 3);

        var error = await Assert.ThrowsAsync<BudgetException>(() => client.ReserveAsync(new Attribution { Tenant = "t" }, 1));

        Assert.IsNotType<BudgetTimeoutException>(error);
        Assert.Equal((BudgetErrorCode.Unavailable, 3), (error.Code, error.Attempts));
    }

    [Fact]
    public async Task CancellationByTheCallerIsNotRetried()
    {
        await using var client = silo.NewClient();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.CheckAsync(new Attribution { Tenant = "t" }, 1, cancellationToken: cancelled.Token));
    }
}
