using Microsoft.AspNetCore.Http;

namespace BudgetGrains.Grpc;

/// <summary>Per-call information handed to a handler.</summary>
public sealed class ServerCallContext
{
    private List<KeyValuePair<string, string>>? _responseTrailers;

    internal ServerCallContext(HttpContext httpContext, string method, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        HttpContext = httpContext;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method name, as in the request path: <c>/pkg.Service/Method</c>.</summary>
    public string Method { get; }

    /// <summary>Cancelled when the client cancels the call (or the connection drops) or when the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The deadline from the client's <c>grpc-timeout</c>, or null when the call has none.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>The request headers, i.e. the call's metadata (plus the HTTP/2 and gRPC protocol headers).</summary>
    public IHeaderDictionary RequestHeaders => HttpContext.Request.Headers;

    /// <summary>The underlying ASP.NET Core context (connection info, request services, user).</summary>
    public HttpContext HttpContext { get; }

    /// <summary>
    /// True once a response message went into the body. Kestrel only reports HasStarted on flush, and unary responses
    /// are not flushed, so the choice between trailers and Trailers-Only rests on this.
    /// </summary>
    internal bool MessageWritten { get; set; }

    /// <summary>The trailers added so far; null when none.</summary>
    internal IReadOnlyList<KeyValuePair<string, string>>? ResponseTrailers => _responseTrailers;

    /// <summary>
    /// Adds a response header (initial metadata). Only possible before the first response message is written;
    /// ASCII values only.
    /// </summary>
    /// <exception cref="InvalidOperationException">The response headers were already sent.</exception>
    public void AddResponseHeader(string name, string value)
    {
        if (MessageWritten || HttpContext.Response.HasStarted)
        {
            throw new InvalidOperationException("Response headers were already sent; add headers before writing the first message.");
        }

        HttpContext.Response.Headers.Append(name, value);
    }

    /// <summary>
    /// Adds a response trailer (trailing metadata), sent together with the status whatever the outcome of the call;
    /// ASCII values only.
    /// </summary>
    public void AddResponseTrailer(string name, string value)
    {
        (_responseTrailers ??= []).Add(new KeyValuePair<string, string>(name, value));
    }
}
