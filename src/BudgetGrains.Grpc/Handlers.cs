using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace BudgetGrains.Grpc;

/// <summary>Handles a unary call: one request message, one response message.</summary>
public delegate Task<TResponse> UnaryHandler<TRequest, TResponse>(TRequest request, ServerCallContext context);

/// <summary>
/// The handler of a unary method, called in-process with a request message rather than over gRPC (a REST mirror,
/// for instance). No framing, size limits or deadline apply, and failures surface as exceptions exactly as the
/// handler throws them (<see cref="RpcException"/> for a status): mapping them is the caller's business. Response
/// trailers the handler adds are dropped; response headers go into <paramref name="httpContext"/>'s response.
/// </summary>
/// <param name="request">A message of the method's input type.</param>
/// <param name="httpContext">The request being served, seen by the handler as <see cref="ServerCallContext.HttpContext"/>.</param>
/// <exception cref="ArgumentException"><paramref name="request"/> is not of the method's input type.</exception>
public delegate Task<IMessage> InProcessUnaryHandler(IMessage request, HttpContext httpContext, CancellationToken cancellationToken);

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
