using System.Net;
using System.Net.Http.Headers;
using BudgetGrains.Contracts.V1;
using Grpc.Core;
using Google.Protobuf;

namespace BudgetGrains.Server.Tests;

/// <summary>Bad input gets a clear status and changes nothing: no counter, no ledger entry, no used-up request id.</summary>
[Collection(SiloCollection.Name)]
public sealed class BadInputTests(SiloFixture silo)
{
    private static readonly Chain Scopes = Chain.Unique("bad");

    public static TheoryData<string, StatusCode> BadReserves => new()
    {
        { "empty request id", StatusCode.InvalidArgument },
        { "request id over 128", StatusCode.InvalidArgument },
        { "no attribution", StatusCode.InvalidArgument },
        { "negative estimate", StatusCode.InvalidArgument },
        { "zero estimate without usage or feature", StatusCode.InvalidArgument },
        { "absurd estimate", StatusCode.InvalidArgument },
        { "malformed tenant", StatusCode.InvalidArgument },
        { "over-long feature", StatusCode.InvalidArgument },
        { "too many labels", StatusCode.InvalidArgument },
        { "too many budgets", StatusCode.InvalidArgument },
        { "negative depth", StatusCode.InvalidArgument },
        { "hold ttl over an hour", StatusCode.InvalidArgument },
        { "negative tokens", StatusCode.InvalidArgument },
        { "usage priced over the per-call maximum", StatusCode.InvalidArgument },
    };

    [Theory]
    [MemberData(nameof(BadReserves))]
    public async Task BadReserveIsRefusedAndChangesNothing(string defect, StatusCode expected)
    {
        await Scopes.CreateAsync(silo.Management, generous: 1_000_000);
        var request = Build.Reserve(Scopes.Attribution, 100);
        Spoil(request, defect);
        var before = await SnapshotAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(request).ResponseAsync);

        Assert.Equal(expected, error.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(error.Status.Detail));
        Assert.Equal(before, await SnapshotAsync());
        if (request.RequestId.Length is > 0 and <= 128)
        {
            var fixedUp = Build.Reserve(Scopes.Attribution, 100, request.RequestId);
            Assert.Equal(Decision.Admitted, (await silo.Admission.ReserveAsync(fixedUp)).Decision);
            await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = request.RequestId });
        }
    }

    [Theory]
    [InlineData(-1L, StatusCode.InvalidArgument)]
    [InlineData(long.MaxValue, StatusCode.InvalidArgument)]
    public async Task BadCommitIsRefusedAndTheHoldStays(long actual, StatusCode expected)
    {
        await Scopes.CreateAsync(silo.Management, generous: 1_000_000);
        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(Scopes.Attribution, 100));
        var before = await SnapshotAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            silo.Admission.CommitAsync(new CommitRequest { ReservationId = reserve.ReservationId, ActualNanos = actual }).ResponseAsync);

        Assert.Equal(expected, error.StatusCode);
        Assert.Equal(before, await SnapshotAsync());
        Assert.True((await silo.Admission.ReleaseAsync(new ReleaseRequest { ReservationId = reserve.ReservationId })).Released);
    }

    [Theory]
    [InlineData("teams/x", StatusCode.InvalidArgument)]
    [InlineData("team/", StatusCode.InvalidArgument)]
    [InlineData("team/a b", StatusCode.InvalidArgument)]
    [InlineData("nokind", StatusCode.InvalidArgument)]
    public async Task MalformedScopeIsRefused(string scope, StatusCode expected)
    {
        var upsert = await Assert.ThrowsAsync<RpcException>(() => silo.Management.SetBudgetAsync(scope, 1));
        var get = await Assert.ThrowsAsync<RpcException>(() => silo.Management.StatusAsync(scope));

        Assert.Equal(expected, upsert.StatusCode);
        Assert.Equal(expected, get.StatusCode);
    }

    [Fact]
    public async Task AChainLongerThanSixteenScopesIsResourceExhaustedAndHoldsNothing()
    {
        // 6 named kinds + 8 named budgets = 14 scopes; three parents above the first budget make 17.
        var key = Build.UniqueKey("long");
        var budgets = Enumerable.Range(0, 8).Select(i => $"{key}-b{i}").ToList();
        await silo.Management.SetBudgetAsync($"budget/{key}-p3", 0);
        await silo.Management.SetBudgetAsync($"budget/{key}-p2", 0, parent: $"budget/{key}-p3");
        await silo.Management.SetBudgetAsync($"budget/{key}-p1", 0, parent: $"budget/{key}-p2");
        await silo.Management.SetBudgetAsync($"budget/{budgets[0]}", 0, parent: $"budget/{key}-p1");
        var attribution = new Attribution { Tenant = key, Feature = key, Agent = key, Task = key, Team = key, CostCenter = key };
        attribution.Budgets.AddRange(budgets);

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(Build.Reserve(attribution, 10)).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("longer than 16 scopes", error.Status.Detail);
        foreach (var scope in (string[])[$"tenant/{key}", $"budget/{budgets[0]}", $"budget/{key}-p2"])
            Assert.Equal((0L, 0), ((await silo.Management.StatusAsync(scope)).HeldNanos, (await silo.Management.StatusAsync(scope)).OpenHolds));
    }

    [Fact]
    public async Task GarbageProtobufBodyIsInvalidArgument()
    {
        var (status, message) = await SendRawAsync("/budget.v1.Admission/Reserve", Frame([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));

        Assert.Equal(StatusCode.InvalidArgument, status);
        Assert.Contains("could not be parsed", message);
    }

    [Fact]
    public async Task TruncatedFrameIsInternal()
    {
        var frame = Frame(Build.Reserve(Scopes.Attribution, 1).ToByteArray());
        var (status, _) = await SendRawAsync("/budget.v1.Admission/Reserve", frame[..^3]);

        Assert.Equal(StatusCode.Internal, status);
    }

    [Fact]
    public async Task MessageOverTheSizeLimitIsResourceExhaustedAndChangesNothing()
    {
        var request = Build.Reserve(Scopes.Attribution, 1);
        request.Attribution.Labels["padding"] = new string('x', 70 * 1024);
        var before = await SnapshotAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [InlineData("/budget.v1.Admission/Spend")]
    [InlineData("/budget.v1.Ledger/Reserve")]
    public async Task UnknownMethodOrServiceIsUnimplemented(string path)
    {
        var (status, _) = await SendRawAsync(path, Frame([]));

        Assert.Equal(StatusCode.Unimplemented, status);
    }

    [Fact]
    public async Task TheServerEndsAStreamAtTheCallersGrpcTimeout()
    {
        // No deadline on the client side: the status must come from the silo.
        var request = new WatchBudgetsRequest();
        request.Scopes.Add(Scopes.TeamScope);

        var (status, _) = await SendRawAsync("/budget.v1.Admission/WatchBudgets", Frame(request.ToByteArray()), timeout: "300m");

        Assert.Equal(StatusCode.DeadlineExceeded, status);
    }

    private static void Spoil(ReserveRequest request, string defect)
    {
        switch (defect)
        {
            case "empty request id": request.RequestId = ""; break;
            case "request id over 128": request.RequestId = new string('r', 129); break;
            case "no attribution": request.Attribution = null; break;
            case "negative estimate": request.EstimateNanos = -5; break;
            case "zero estimate without usage or feature":
                request.EstimateNanos = 0;
                request.Attribution.Feature = "";
                break;
            case "absurd estimate": request.EstimateNanos = long.MaxValue; break;
            case "malformed tenant": request.Attribution.Tenant = "acme corp/1"; break;
            case "over-long feature": request.Attribution.Feature = new string('f', 129); break;
            case "too many labels":
                for (var i = 0; i < 17; i++) request.Attribution.Labels["l" + i] = "v";
                break;
            case "too many budgets": request.Attribution.Budgets.AddRange(Enumerable.Range(0, 9).Select(i => "b" + i)); break;
            case "negative depth": request.Task = new TaskContext { Depth = -1 }; break;
            case "hold ttl over an hour": request.HoldTtlMs = 3_600_001; break;
            case "negative tokens":
                request.EstimateNanos = 0;
                request.EstimateUsage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = -1 };
                break;
            case "usage priced over the per-call maximum":
                request.EstimateNanos = 0;
                request.EstimateUsage = new TokenUsage { Model = SiloFixture.PriceyModel, OutputTokens = 100_000_000 };
                break;
            default: throw new ArgumentException(defect);
        }
    }

    /// <summary>Every counter and ledger sum of the store, plus the live counters of the test's scopes.</summary>
    private async Task<string> SnapshotAsync()
    {
        var counters = await silo.Silo.Store.ReadAllCountersAsync(CancellationToken.None);
        var ledger = await silo.Silo.Store.SumLedgerByScopeAsync(CancellationToken.None);
        var live = await Task.WhenAll(Scopes.Scopes.Select(s => silo.Management.StatusAsync(s)));
        return string.Join(";", counters.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))
            + "|" + string.Join(";", ledger.OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}"))
            + "|" + string.Join(";", live.Select(s => s.ToString()));
    }

    private static byte[] Frame(byte[] message)
    {
        var frame = new byte[5 + message.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>A hand-made gRPC request over HTTP/2; the status comes from the trailers (or the headers, Trailers-Only).</summary>
    private async Task<(StatusCode Status, string Message)> SendRawAsync(string path, byte[] body, string? timeout = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(silo.Silo.Address, path))
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (timeout is not null) request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
            : response.Headers.TryGetValues(name, out var h) ? h.First() : null;
        return ((StatusCode)int.Parse(Header("grpc-status")!), Uri.UnescapeDataString(Header("grpc-message") ?? ""));
    }
}
