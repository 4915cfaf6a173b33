namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// Guardrails for agent tasks. A null limit is not set. Set on features and agents, they are inherited by
/// their tasks (the stricter wins when both set one); set on a task, each limit given overrides.
/// </summary>
/// <param name="HoldTtlMs">Lifetime of a hold: the default when a reserve gives none, and the longest a reserve may ask
/// for. Unlike the other limits it applies to every reserve through the feature or agent, with or without a task.</param>
[GenerateSerializer, Immutable]
public sealed record TaskPolicy(long? MaxDepth = null, long? MaxRetries = null, long? MaxCalls = null, long? MaxSpendNanos = null,
    long? HoldTtlMs = null)
{
    public static readonly TaskPolicy None = new();

    public bool IsEmpty => MaxDepth is null && MaxRetries is null && MaxCalls is null && MaxSpendNanos is null && HoldTtlMs is null;

    /// <summary>The stricter of two policies, limit by limit (for the hold TTL: the shorter).</summary>
    public static TaskPolicy Stricter(TaskPolicy a, TaskPolicy b) => new(
        Min(a.MaxDepth, b.MaxDepth), Min(a.MaxRetries, b.MaxRetries), Min(a.MaxCalls, b.MaxCalls), Min(a.MaxSpendNanos, b.MaxSpendNanos),
        Min(a.HoldTtlMs, b.HoldTtlMs));

    /// <summary>This policy's limits where set, else <paramref name="inherited"/>'s.</summary>
    public TaskPolicy Over(TaskPolicy inherited) => new(
        MaxDepth ?? inherited.MaxDepth, MaxRetries ?? inherited.MaxRetries, MaxCalls ?? inherited.MaxCalls, MaxSpendNanos ?? inherited.MaxSpendNanos,
        HoldTtlMs ?? inherited.HoldTtlMs);

    /// <summary>
    /// How long a hold lives: the request's own TTL capped by the policy's (an operator's bound on how long a crashed
    /// caller can keep budget held is not the caller's to lift); the policy's when the request gives none (0); else the
    /// server default.
    /// </summary>
    public long EffectiveHoldTtlMs(long requestedMs) =>
        (requestedMs, HoldTtlMs) switch
        {
            (0, null) => Limits.DefaultHoldTtlMs,
            (0, { } policy) => policy,
            (_, null) => requestedMs,
            (_, { } policy) => Math.Min(requestedMs, policy),
        };

    public Failure? Validate()
    {
        if (MaxDepth is < 0 or > Limits.MaxTaskDepth) return Failure.Invalid($"max_depth must be between 0 and {Limits.MaxTaskDepth}");
        if (MaxRetries is < 0) return Failure.Invalid("max_retries must not be negative");
        if (MaxCalls is < 0) return Failure.Invalid("max_calls must not be negative");
        if (MaxSpendNanos is < 0 or > Limits.MaxLimitNanos) return Failure.Invalid($"max_spend_nanos must be between 0 and {Limits.MaxLimitNanos}");
        if (HoldTtlMs is < Limits.MinHoldTtlMs or > Limits.MaxHoldTtlMs)
            return Failure.Invalid($"hold_ttl_ms must be between {Limits.MinHoldTtlMs} and {Limits.MaxHoldTtlMs}");
        return null;
    }

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}

/// <summary>One call of an agent task, checked against the task's guardrails.</summary>
/// <param name="AmountNanos">The call's estimate.</param>
/// <param name="AlreadyHeld">True for a reserve (the chain walk already held the estimate at the task scope), false
/// for a check (which holds nothing).</param>
[GenerateSerializer, Immutable]
public sealed record TaskCall(string ReservationId, int Depth, bool IsRetry, TaskPolicy Inherited, long AmountNanos, bool AlreadyHeld);
