namespace BudgetGrains.Grpc;

/// <summary>Handles a unary call: one request message, one response message.</summary>
public delegate Task<TResponse> UnaryHandler<TRequest, TResponse>(TRequest request, ServerCallContext context);

/// <summary>Handles a server-streaming call: one request message, any number of response messages written to <paramref name="writer"/>.</summary>
public delegate Task ServerStreamingHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> writer, ServerCallContext context);

/// <summary>Writes response messages of a server-streaming call.</summary>
/// <typeparam name="T">The response message type.</typeparam>
public interface IServerStreamWriter<in T>
{
    /// <summary>
    /// Writes one message and flushes it to the client. Writes must not overlap; await each before the next.
    /// Throws <see cref="RpcException"/> (RESOURCE_EXHAUSTED) for a message over the send limit.
    /// </summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
