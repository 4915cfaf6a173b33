using System.Diagnostics;
using System.Net;
using BudgetGrains.Contracts.V1;
using Grpc.Health.V1;

namespace BudgetGrains.Server.Tests.Observability;

/// <summary>/healthz and /readyz on the HTTP port, and the gRPC health service answering from the same checks.</summary>
public sealed class HealthEndpointTests
{
    [Fact]
    public async Task HealthzAndReadyzAnswerOnTheHttpPortOnly()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("health"));
        using var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress };
        var healthz = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        Assert.Equal("ok\n", await healthz.Content.ReadAsStringAsync());

        var readyz = await http.GetAsync("/readyz");
        var body = await readyz.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, readyz.StatusCode);
        Assert.Contains("\"status\":\"ready\"", body, StringComparison.Ordinal);
        foreach (var check in new[] { "silo", "journal", "membership" }) Assert.Contains($"\"{check}\":{{\"status\":\"healthy\"", body, StringComparison.Ordinal);

        // The gRPC endpoint serves gRPC only: the same paths over h2c are not found there.
        using var grpcPort = new HttpClient(new SocketsHttpHandler())
        {
            BaseAddress = silo.Silo.Address, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        Assert.Equal(HttpStatusCode.NotFound, (await grpcPort.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await grpcPort.GetAsync("/metrics")).StatusCode);
    }

    /// <summary>
    /// The journal's files are made immutable (chattr +i): SQLite's writes fail with EPERM, the readiness probe's journal
    /// write fails, /readyz answers 503 naming the journal and gRPC health says NOT_SERVING; once the files are writable
    /// again both are ready again.
    /// </summary>
    [SkippableFact]
    public async Task ReadyzFlipsToNotReadyWhileTheJournalIsUnwritable()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("readyz"));
        using var http = new HttpClient { BaseAddress = silo.Silo.HttpAddress };
        var health = new Health.HealthClient(silo.Channel);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);

        var database = silo.Options.DatabasePath;
        string[] files = [database, database + "-wal"];
        var immutable = Chattr("+i", files);
        Skip.If(immutable is not null && !Components.InCi, $"chattr +i is not possible here ({immutable}); it needs root and a file system with the immutable flag (e2fsprogs' chattr)");
        Assert.Null(immutable);
        try
        {
            string body = "";
            Assert.True(await Build.EventuallyAsync(async () =>
            {
                var answer = await http.GetAsync("/readyz");
                body = await answer.Content.ReadAsStringAsync();
                return answer.StatusCode == HttpStatusCode.ServiceUnavailable;
            }, TimeSpan.FromSeconds(20)), "readyz stayed ready with an immutable journal: " + body);
            Assert.Contains("\"status\":\"not ready\"", body, StringComparison.Ordinal);
            Assert.Contains("\"journal\":{\"status\":\"unhealthy\"", body, StringComparison.Ordinal);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
            var reserve = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
                await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = Build.UniqueKey("ro") }, 1)));
            Assert.Equal(Grpc.Core.StatusCode.Unavailable, reserve.StatusCode);
        }
        finally
        {
            Assert.Null(Chattr("-i", files));
        }
        Assert.True(await Build.EventuallyAsync(async () => (await http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(20)),
            "readyz did not become ready again once the journal was writable");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
    }

    /// <summary>Runs chattr; null when it worked, else why not.</summary>
    private static string? Chattr(string flag, string[] files)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("chattr", [flag, .. files]) { RedirectStandardError = true, UseShellExecute = false })!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : $"chattr {flag} exited {process.ExitCode}: {error.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return "chattr: " + e.Message;
        }
    }
}
