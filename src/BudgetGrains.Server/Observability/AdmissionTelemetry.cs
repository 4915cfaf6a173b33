using System.Diagnostics;
using System.Diagnostics.Metrics;
using BudgetGrains.Grains.Telemetry;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Observability;

/// <summary>The admission rpcs, as metric tags and span names.</summary>
internal enum AdmissionRpc
{
    Reserve = 0,
    Commit = 1,
    Release = 2,
    Check = 3,
}

/// <summary>
/// Metrics and spans of the admission rpcs (gRPC and REST alike: REST calls the same service methods). Tags are
/// pre-built and boxed once; a span is started only when a listener samples the source, and its attributes are set only
/// when it records (<see cref="Activity.IsAllDataRequested"/>). Attributes follow the OpenTelemetry gen_ai conventions
/// where they apply (<c>gen_ai.request.model</c>, <c>gen_ai.usage.input_tokens</c>, <c>gen_ai.usage.output_tokens</c>),
/// the budget's own under <c>budget.*</c>.
/// </summary>
internal static class AdmissionTelemetry
{
    public const string SourceName = "BudgetGrains";

    public static readonly ActivitySource Source = new(SourceName, typeof(AdmissionTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly string[] SpanNames =
        ["budget.v1.Admission/Reserve", "budget.v1.Admission/Commit", "budget.v1.Admission/Release", "budget.v1.Admission/Check"];

    private static readonly KeyValuePair<string, object?>[] RpcTags =
        [Tag("rpc", "reserve"), Tag("rpc", "commit"), Tag("rpc", "release"), Tag("rpc", "check")];

    private static readonly KeyValuePair<string, object?> Admitted = Tag("decision", "admitted");
    private static readonly KeyValuePair<string, object?> Denied = Tag("decision", "denied");

    /// <summary>Indexed by V1.DenyReason's number (0 = none).</summary>
    private static readonly KeyValuePair<string, object?>[] ReasonTags =
        [.. new[] { "none", "budget_exhausted", "frozen", "depth_limit", "retry_limit", "call_limit", "rate_limited", "unknown_price", "task_ended" }
            .Select(r => Tag("reason", r))];

    private static readonly KeyValuePair<string, object?> OtherReason = Tag("reason", "other");

    /// <summary>Indexed by the gRPC status code number.</summary>
    private static readonly KeyValuePair<string, object?>[] ErrorTags =
        [.. Enumerable.Range(0, 17).Select(code => Tag("error.type", ((StatusCode)code).ToString()))];

    private static readonly Counter<long> Decisions = BudgetMeters.Meter.CreateCounter<long>("budgetgrains.admission.decisions", "{decision}",
        "Reserve and Check answers by rpc, decision and deny reason");

    private static readonly Counter<long> Errors = BudgetMeters.Meter.CreateCounter<long>("budgetgrains.admission.errors", "{call}",
        "Admission calls answered with an error status, by rpc and status (error.type)");

    private static readonly Histogram<double> Duration = BudgetMeters.Meter.CreateHistogram<double>("budgetgrains.admission.duration", "s",
        "Server time of an admission call, by rpc",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);

    /// <summary>A span for <paramref name="rpc"/>, child of the caller's trace: of ASP.NET Core's request activity when
    /// there is one, else of the request's <c>traceparent</c> header. Null when nobody listens.</summary>
    public static Activity? Start(AdmissionRpc rpc, ServerCallContext context)
    {
        if (!Source.HasListeners()) return null;
        if (Activity.Current is not null) return Source.StartActivity(SpanNames[(int)rpc], ActivityKind.Internal);
        var headers = context.GetHttpContext()?.Request.Headers;
        var parent = default(ActivityContext);
        if (headers is not null && headers.TryGetValue("traceparent", out var traceparent))
            ActivityContext.TryParse(traceparent.ToString(), headers.TryGetValue("tracestate", out var state) ? state.ToString() : null, isRemote: true, out parent);
        return Source.StartActivity(SpanNames[(int)rpc], ActivityKind.Server, parent);
    }

    public static void Reserving(Activity? span, V1.ReserveRequest request)
    {
        if (span is not { IsAllDataRequested: true }) return;
        span.SetTag("budget.request_id", request.RequestId);
        Attribution(span, request.Attribution);
        span.SetTag("budget.estimate_nanos", request.EstimateNanos);
        Usage(span, request.EstimateUsage, request.Attribution);
    }

    public static void Checking(Activity? span, V1.CheckRequest request)
    {
        if (span is not { IsAllDataRequested: true }) return;
        Attribution(span, request.Attribution);
        span.SetTag("budget.estimate_nanos", request.EstimateNanos);
        Usage(span, request.EstimateUsage, request.Attribution);
    }

    public static void Committing(Activity? span, V1.CommitRequest request)
    {
        if (span is not { IsAllDataRequested: true }) return;
        span.SetTag("budget.reservation_id", request.ReservationId);
        if (request.Outcome.Length > 0) span.SetTag("budget.outcome", request.Outcome);
        Usage(span, request.Usage, null);
    }

    public static void Decided(AdmissionRpc rpc, Activity? span, V1.Decision decision, V1.DenyReason reason, string deniedScope, long startTimestamp)
    {
        var admitted = decision == V1.Decision.Admitted;
        var index = (int)reason;
        Decisions.Add(1, RpcTags[(int)rpc], admitted ? Admitted : Denied, (uint)index < (uint)ReasonTags.Length ? ReasonTags[index] : OtherReason);
        Duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, RpcTags[(int)rpc]);
        if (span is not { IsAllDataRequested: true }) return;
        span.SetTag("budget.decision", admitted ? "admitted" : "denied");
        if (!admitted)
        {
            span.SetTag("budget.deny_reason", reason.ToString());
            span.SetTag("budget.denied_scope", deniedScope);
        }
    }

    public static void Done(AdmissionRpc rpc, Activity? span, long startTimestamp, long chargedNanos = -1)
    {
        Duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, RpcTags[(int)rpc]);
        if (chargedNanos >= 0 && span is { IsAllDataRequested: true }) span.SetTag("budget.charged_nanos", chargedNanos);
    }

    public static void Failed(AdmissionRpc rpc, Activity? span, long startTimestamp, RpcException error)
    {
        var code = (int)error.StatusCode;
        Errors.Add(1, RpcTags[(int)rpc], (uint)code < (uint)ErrorTags.Length ? ErrorTags[code] : ErrorTags[2]);
        Duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, RpcTags[(int)rpc]);
        if (span is null) return;
        span.SetStatus(ActivityStatusCode.Error, error.Status.Detail);
        span.SetTag("error.type", error.StatusCode.ToString());
    }

    private static void Attribution(Activity span, V1.Attribution? a)
    {
        if (a is null) return;
        if (a.Tenant.Length > 0) span.SetTag("budget.tenant", a.Tenant);
        if (a.Feature.Length > 0) span.SetTag("budget.feature", a.Feature);
        if (a.Agent.Length > 0) span.SetTag("budget.agent", a.Agent);
        if (a.Task.Length > 0) span.SetTag("budget.task", a.Task);
        if (a.Team.Length > 0) span.SetTag("budget.team", a.Team);
        if (a.CostCenter.Length > 0) span.SetTag("budget.cost_center", a.CostCenter);
        span.SetTag("budget.scope", LeafScope(a));
        if (a.Labels.TryGetValue("provider", out var provider)) span.SetTag("gen_ai.provider.name", provider);
    }

    /// <summary>The most specific scope named by the attribution (task, agent, feature, tenant...).</summary>
    private static string LeafScope(V1.Attribution a) =>
        a.Task.Length > 0 && a.Tenant.Length > 0 ? $"task/{a.Tenant}/{a.Task}"
        : a.Agent.Length > 0 ? "agent/" + a.Agent
        : a.Feature.Length > 0 ? "feature/" + a.Feature
        : a.Team.Length > 0 ? "team/" + a.Team
        : a.Tenant.Length > 0 ? "tenant/" + a.Tenant
        : a.CostCenter.Length > 0 ? "cost_center/" + a.CostCenter
        : "";

    private static void Usage(Activity span, V1.TokenUsage? usage, V1.Attribution? attribution)
    {
        var model = usage?.Model is { Length: > 0 } m ? m : attribution?.Labels.GetValueOrDefault("model") ?? "";
        if (model.Length > 0) span.SetTag("gen_ai.request.model", model);
        if (usage is null) return;
        span.SetTag("gen_ai.usage.input_tokens", usage.InputTokens);
        span.SetTag("gen_ai.usage.output_tokens", usage.OutputTokens);
        if (usage.CachedInputTokens > 0) span.SetTag("gen_ai.usage.cache_read.input_tokens", usage.CachedInputTokens);
        if (usage.ReasoningTokens > 0) span.SetTag("gen_ai.usage.reasoning.output_tokens", usage.ReasoningTokens);
    }
}
