namespace BudgetGrains.Grpc;

/// <summary>Per-call options of a client call.</summary>
/// <param name="Deadline">When the call must be over: sent as <c>grpc-timeout</c> and enforced locally (DEADLINE_EXCEEDED).</param>
/// <param name="CancellationToken">Cancels the call (CANCELLED); the server's handler token is cancelled too.</param>
/// <param name="Headers">Custom metadata sent as request headers (ASCII names and values; names must not start with "grpc-").</param>
public readonly record struct CallOptions(
    DateTimeOffset? Deadline = null,
    CancellationToken CancellationToken = default,
    IReadOnlyDictionary<string, string>? Headers = null);
