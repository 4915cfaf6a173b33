namespace BudgetGrains.Grains;

/// <summary>Why a request could not be carried out. Each kind maps to one gRPC status code.</summary>
[GenerateSerializer]
public enum FailureKind
{
    InvalidArgument,
    NotFound,
    FailedPrecondition,
    ResourceExhausted,
    Unavailable,
    Unimplemented,
}

/// <summary>
/// An expected failure (bad input, unknown reservation, a limit, storage down), returned as a value
/// rather than thrown through the hot path. Nothing was changed when a failure is returned.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Failure(FailureKind Kind, string Message)
{
    public static Failure Invalid(string message) => new(FailureKind.InvalidArgument, message);
    public static Failure NotFound(string message) => new(FailureKind.NotFound, message);
    public static Failure Precondition(string message) => new(FailureKind.FailedPrecondition, message);
    public static Failure Exhausted(string message) => new(FailureKind.ResourceExhausted, message);
    public static Failure Unavailable(string message) => new(FailureKind.Unavailable, message);
}
