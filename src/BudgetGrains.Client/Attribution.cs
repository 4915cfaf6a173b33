namespace BudgetGrains.Client;

/// <summary>
/// Who a model call is attributed to. Each non-empty field names a scope of the admission chain: tenant →
/// <c>tenant/&lt;tenant&gt;</c>, feature → <c>feature/&lt;feature&gt;</c>, agent → <c>agent/&lt;agent&gt;</c>, task →
/// <c>task/&lt;tenant&gt;/&lt;task&gt;</c>, team → <c>team/&lt;team&gt;</c>, cost center → <c>cost_center/&lt;cost center&gt;</c>,
/// budgets → <c>budget/&lt;name&gt;</c>. Keys are 1–128 characters of <c>[A-Za-z0-9._:-]</c>.
/// </summary>
public sealed record Attribution
{
    /// <summary>The tenant (customer) the call is made for.</summary>
    public string? Tenant { get; init; }

    /// <summary>The product feature making the call.</summary>
    public string? Feature { get; init; }

    /// <summary>The agent making the call.</summary>
    public string? Agent { get; init; }

    /// <summary>The agent task (run) the call belongs to; its scope is namespaced by <see cref="Tenant"/>.</summary>
    public string? Task { get; init; }

    /// <summary>The team; optional when the feature's or agent's budget links to it as parent.</summary>
    public string? Team { get; init; }

    /// <summary>The cost center; optional when reached through parent links.</summary>
    public string? CostCenter { get; init; }

    /// <summary>Extra named budgets, e.g. <c>project:search-rerank</c>.</summary>
    public IReadOnlyList<string> Budgets { get; init; } = [];

    /// <summary>Recorded on the ledger: environment, model, provider, prompt_version, user...</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}

/// <summary>Token counts of a model call, priced by the server's price catalog.</summary>
/// <param name="Model">The model name as the server's price catalog knows it.</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="CachedInputTokens">Prompt tokens served from the provider's cache.</param>
/// <param name="OutputTokens">Completion tokens (for an estimate: the maximum the call may produce).</param>
/// <param name="ReasoningTokens">Reasoning tokens.</param>
public sealed record TokenUsage(string Model, long InputTokens = 0, long CachedInputTokens = 0, long OutputTokens = 0, long ReasoningTokens = 0);

/// <summary>Where a call sits inside an agent task; the server enforces the task's depth and retry limits with it.</summary>
/// <param name="Depth">Chain depth of this call inside the agent task.</param>
/// <param name="IsRetry">This call retries an earlier one.</param>
public sealed record TaskContext(int Depth = 0, bool IsRetry = false);

/// <summary>A quantity of a meter of the server's meter catalog (GPU-seconds, tool calls, ...), priced by the server.</summary>
/// <param name="Meter">The meter's name, e.g. <c>gpu_seconds</c>; one the server does not know is refused, never free.</param>
/// <param name="Quantity">How much, in the meter's unit (more than 0).</param>
public sealed record MeterUsage(string Meter, long Quantity);

/// <summary>Optional settings of one reserve.</summary>
public sealed record ReserveOptions
{
    /// <summary>
    /// Meter quantities the call expects to use, held with its estimate: the server prices them and adds them to it, and
    /// a scope's limits per meter apply (<see cref="DenyReason.MeterLimit"/>). Commit the actual quantities with
    /// <see cref="BudgetHold.CommitAsync(long, string?, IReadOnlyList{MeterUsage}, CancellationToken)"/>.
    /// </summary>
    public IReadOnlyList<MeterUsage>? Meters { get; init; }

    /// <summary>
    /// The idempotency key, at most 128 characters; a new one (a GUID) when null. Reusing an id repeats the first
    /// answer and changes nothing; reusing it with other parameters fails with <see cref="BudgetErrorCode.FailedPrecondition"/>.
    /// </summary>
    public string? RequestId { get; init; }

    /// <summary>Where the call sits inside its agent task.</summary>
    public TaskContext? TaskContext { get; init; }

    /// <summary>How long the hold lives if neither committed nor released (1 s to 1 h); null = the client's default.</summary>
    public TimeSpan? HoldTtl { get; init; }
}
