namespace BudgetGrains.Grpc;

/// <summary>
/// A gRPC status other than OK. Handlers throw it to answer a call with that status and detail;
/// the client throws it when a call ends with a non-OK status.
/// </summary>
public sealed class RpcException : Exception
{
    /// <summary>Creates an exception carrying <paramref name="statusCode"/> and <paramref name="detail"/>.</summary>
    public RpcException(StatusCode statusCode, string detail)
        : base($"Status(StatusCode=\"{statusCode}\", Detail=\"{detail}\")")
    {
        StatusCode = statusCode;
        Detail = detail;
    }

    /// <summary>Creates an exception carrying a status and the exception that caused it (client side transport failures).</summary>
    public RpcException(StatusCode statusCode, string detail, Exception? innerException)
        : base($"Status(StatusCode=\"{statusCode}\", Detail=\"{detail}\")", innerException)
    {
        StatusCode = statusCode;
        Detail = detail;
    }

    /// <summary>The gRPC status code.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>The status message (sent as <c>grpc-message</c>).</summary>
    public string Detail { get; }
}
