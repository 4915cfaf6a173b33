namespace BudgetGrains.Client;

/// <summary>The gRPC status code of a failed call (the standard codes, same numeric values).</summary>
public enum BudgetErrorCode
{
    /// <summary>The operation was cancelled.</summary>
    Cancelled = 1,
    /// <summary>Unknown error.</summary>
    Unknown = 2,
    /// <summary>Malformed input: empty or over-long request id, negative amount, bad scope key, ...</summary>
    InvalidArgument = 3,
    /// <summary>The call's deadline passed (thrown as <see cref="BudgetTimeoutException"/>).</summary>
    DeadlineExceeded = 4,
    /// <summary>Unknown reservation (never admitted, or denied).</summary>
    NotFound = 5,
    /// <summary>The entity already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The caller may not do this.</summary>
    PermissionDenied = 7,
    /// <summary>A named limit was reached (holds per scope, chain length, message size...).</summary>
    ResourceExhausted = 8,
    /// <summary>
    /// The reservation is in another state (commit after release, release after commit), an id was reused with other
    /// parameters, or usage of an unpriced model was committed.
    /// </summary>
    FailedPrecondition = 9,
    /// <summary>The operation was aborted.</summary>
    Aborted = 10,
    /// <summary>Out of range.</summary>
    OutOfRange = 11,
    /// <summary>The server does not implement this (e.g. a period it cannot reset yet).</summary>
    Unimplemented = 12,
    /// <summary>An invariant broke on the server or on the wire.</summary>
    Internal = 13,
    /// <summary>The server could not be reached, or could not make the change durable, in any attempt.</summary>
    Unavailable = 14,
    /// <summary>Data loss.</summary>
    DataLoss = 15,
    /// <summary>Missing or invalid credentials.</summary>
    Unauthenticated = 16,
}

/// <summary>
/// A budget call failed: the server answered with an error status, or it could not be reached in any attempt.
/// A deny is not an exception: it is a result (<see cref="BudgetHold.Admitted"/>, <see cref="CheckResult.Admitted"/>).
/// </summary>
public class BudgetException : Exception
{
    /// <summary>Creates an exception for a failed call.</summary>
    /// <param name="code">The status code.</param>
    /// <param name="detail">The server's (or the transport's) message.</param>
    /// <param name="attempts">How many attempts were made.</param>
    /// <param name="innerException">The underlying error.</param>
    public BudgetException(BudgetErrorCode code, string detail, int attempts, Exception? innerException)
        : base($"{code}: {detail}" + (attempts > 1 ? $" (after {attempts} attempts)" : ""), innerException)
    {
        Code = code;
        Detail = detail;
        Attempts = attempts;
    }

    /// <summary>The status code.</summary>
    public BudgetErrorCode Code { get; }

    /// <summary>The server's (or the transport's) message, e.g. <c>request_id is required</c>.</summary>
    public string Detail { get; }

    /// <summary>How many attempts were made before giving up (1 when the error was not retryable).</summary>
    public int Attempts { get; }
}

/// <summary>The call did not finish within <see cref="BudgetClientOptions.Timeout"/>, retries included.</summary>
public sealed class BudgetTimeoutException : BudgetException
{
    /// <summary>Creates a timeout exception.</summary>
    /// <param name="detail">What timed out.</param>
    /// <param name="attempts">How many attempts were made.</param>
    /// <param name="innerException">The underlying error.</param>
    public BudgetTimeoutException(string detail, int attempts, Exception? innerException)
        : base(BudgetErrorCode.DeadlineExceeded, detail, attempts, innerException)
    {
    }
}
