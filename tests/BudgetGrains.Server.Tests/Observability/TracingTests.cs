using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests.Observability;

/// <summary>Reserve and Commit spans, seen by an in-process ActivityListener, continue the caller's trace.</summary>
[Collection(SiloCollection.Name)]
public sealed class TracingTests(SiloFixture fixture) : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == "BudgetGrains",
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    private TracingTests Listening()
    {
        _listener.ActivityStopped = _spans.Enqueue;
        ActivitySource.AddActivityListener(_listener);
        return this;
    }

    [Fact]
    public async Task ReserveAndCommitOverGrpcAreSpansOfTheCallersTrace()
    {
        Listening();
        var traceId = ActivityTraceId.CreateRandom();
        var caller = $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01";
        var headers = new Metadata { { "traceparent", caller } };
        var feature = Build.UniqueKey("traced");
        var attribution = new Attribution { Tenant = "acme", Feature = feature, Labels = { ["model"] = "gpt-4o", ["provider"] = "openai" } };
        var reserve = await fixture.Admission.ReserveAsync(new ReserveRequest
        {
            RequestId = Build.NewRequestId(), Attribution = attribution,
            EstimateUsage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 100, OutputTokens = 20 },
        }, headers);
        Assert.Equal(Decision.Admitted, reserve.Decision);
        await fixture.Admission.CommitAsync(new CommitRequest
        {
            ReservationId = reserve.ReservationId, Outcome = "resolved",
            Usage = new TokenUsage { Model = SiloFixture.PricedModel, InputTokens = 90, OutputTokens = 15 },
        }, headers);

        var spans = _spans.Where(s => s.TraceId == traceId).ToList();
        var reserveSpan = Assert.Single(spans, s => s.OperationName == "budget.v1.Admission/Reserve");
        var commitSpan = Assert.Single(spans, s => s.OperationName == "budget.v1.Admission/Commit");
        Assert.Equal(SiloFixture.PricedModel, reserveSpan.GetTagItem("gen_ai.request.model"));
        Assert.Equal(100L, reserveSpan.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(20L, reserveSpan.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("openai", reserveSpan.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("feature/" + feature, reserveSpan.GetTagItem("budget.scope"));
        Assert.Equal("admitted", reserveSpan.GetTagItem("budget.decision"));
        Assert.Equal(reserve.ReservationId, commitSpan.GetTagItem("budget.reservation_id"));
        Assert.Equal(90L, commitSpan.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(15L, commitSpan.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("resolved", commitSpan.GetTagItem("budget.outcome"));
        Assert.Equal(90L * 1_000 + 15L * 4_000, commitSpan.GetTagItem("budget.charged_nanos"));
    }

    [Fact]
    public async Task ADeniedReserveOverRestCarriesTheReasonAndTheCallersTrace()
    {
        Listening();
        var feature = Build.UniqueKey("denied");
        await fixture.Management.SetBudgetAsync("feature/" + feature, 10);
        var traceId = ActivityTraceId.CreateRandom();
        using var http = new HttpClient { BaseAddress = fixture.Silo.HttpAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/reserve")
        {
            Content = JsonContent.Create(new { requestId = Build.NewRequestId(), attribution = new { feature }, estimateNanos = "50" }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        (await http.SendAsync(request)).EnsureSuccessStatusCode();

        var span = Assert.Single(_spans, s => s.TraceId == traceId);
        Assert.Equal("denied", span.GetTagItem("budget.decision"));
        Assert.Equal("BudgetExhausted", span.GetTagItem("budget.deny_reason"));
        Assert.Equal("feature/" + feature, span.GetTagItem("budget.denied_scope"));
    }

    [Fact]
    public async Task AFailedCallIsAnErrorSpan()
    {
        Listening();
        var traceId = ActivityTraceId.CreateRandom();
        var headers = new Metadata { { "traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01" } };
        await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Admission.CommitAsync(new CommitRequest { ReservationId = Build.NewRequestId(), ActualNanos = 1 }, headers));
        var span = Assert.Single(_spans, s => s.TraceId == traceId);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("NotFound", span.GetTagItem("error.type"));
    }

    public void Dispose() => _listener.Dispose();
}
