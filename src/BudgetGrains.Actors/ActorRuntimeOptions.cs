using System.Text.Json;

namespace BudgetGrains.Actors;

/// <summary>Limits and timings of an <see cref="ActorRuntime"/>. Set them before the first <c>AddGrain</c>.</summary>
public sealed class ActorRuntimeOptions
{
    /// <summary>How long an activation may sit idle before the collector deactivates it.</summary>
    public TimeSpan DefaultIdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Idle timeouts that override <see cref="DefaultIdleTimeout"/>, by grain type name.</summary>
    public Dictionary<string, TimeSpan> IdleTimeoutByGrainType { get; } = new();

    /// <summary>How often the idle collector runs.</summary>
    public TimeSpan CollectionInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Activations alive at once; a call that would create one more fails with <see cref="GrainOverloadedException"/>.</summary>
    public int MaxActivations { get; set; } = 1_000_000;

    /// <summary>Calls queued per activation; one more fails with <see cref="GrainOverloadedException"/>.</summary>
    public int MaxMailboxLength { get; set; } = 10_000;

    /// <summary>Writes per storage transaction in the group-commit writer.</summary>
    public int MaxGroupCommitBatch { get; set; } = 1_000;

    /// <summary>Timers registered at once per activation; one more throws <see cref="InvalidOperationException"/>.</summary>
    public int MaxTimersPerActivation { get; set; } = 1_000;

    /// <summary>Grain&lt;TState&gt; state &lt;-&gt; bytes (callers add source-generated contexts).</summary>
    public JsonSerializerOptions StateSerializerOptions { get; set; } = new(JsonSerializerDefaults.General);
}
