using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace BudgetGrains.Grpc.Internal;

/// <summary>One served method: reads the request, runs the handler, writes the response messages (not the status).</summary>
internal abstract class ServerMethod(string path)
{
    /// <summary>The request path, <c>/pkg.Service/Method</c>.</summary>
    public string Path { get; } = path;

    /// <summary>
    /// Runs the call up to, but not including, the status. Failures surface as exceptions:
    /// <see cref="RpcException"/> for a status, <see cref="OperationCanceledException"/> for deadline or client cancellation.
    /// </summary>
    public abstract Task HandleAsync(ServerCallContext call, GrpcServerOptions options);

    /// <summary>The handler alone, callable with a request message in-process; null for streaming methods.</summary>
    public virtual InProcessUnaryHandler? InProcess => null;
}

internal sealed class UnaryServerMethod<TRequest, TResponse>(string path, UnaryHandler<TRequest, TResponse> handler) : ServerMethod(path)
    where TRequest : IMessage<TRequest>, new()
    where TResponse : IMessage<TResponse>
{
    private static readonly MessageParser<TRequest> Parser = new(() => new TRequest());

    public override InProcessUnaryHandler InProcess => InvokeAsync;

    public override async Task HandleAsync(ServerCallContext call, GrpcServerOptions options)
    {
        var http = call.HttpContext;
        var request = await ServerCalls.ReadSingleMessageAsync(http.Request.BodyReader, Parser, options.MaxReceiveMessageBytes, call.CancellationToken).ConfigureAwait(false);
        var response = await handler(request, call).ConfigureAwait(false);

        // A handler that ignored its token must not turn an expired call into a success.
        call.CancellationToken.ThrowIfCancellationRequested();

        // Not flushed: Kestrel sends headers, message and trailers together when the request completes.
        ServerCalls.WriteMessage(call, response, options.MaxSendMessageBytes);
    }

    private async Task<IMessage> InvokeAsync(IMessage request, HttpContext httpContext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(httpContext);
        if (request is not TRequest typed)
        {
            throw new ArgumentException($"{Path} takes {new TRequest().Descriptor.FullName}, not {request.Descriptor.FullName}.", nameof(request));
        }

        return await handler(typed, new ServerCallContext(httpContext, Path, deadline: null, cancellationToken)).ConfigureAwait(false);
    }
}

internal sealed class ServerStreamingServerMethod<TRequest, TResponse>(string path, ServerStreamingHandler<TRequest, TResponse> handler) : ServerMethod(path)
    where TRequest : IMessage<TRequest>, new()
    where TResponse : IMessage<TResponse>
{
    private static readonly MessageParser<TRequest> Parser = new(() => new TRequest());

    public override async Task HandleAsync(ServerCallContext call, GrpcServerOptions options)
    {
        var request = await ServerCalls.ReadSingleMessageAsync(call.HttpContext.Request.BodyReader, Parser, options.MaxReceiveMessageBytes, call.CancellationToken).ConfigureAwait(false);
        var writer = new ServerStreamWriter<TResponse>(call, options.MaxSendMessageBytes);
        try
        {
            await handler(request, writer, call).ConfigureAwait(false);
        }
        finally
        {
            writer.Complete();
        }

        call.CancellationToken.ThrowIfCancellationRequested();
    }
}

internal sealed class ServerStreamWriter<T>(ServerCallContext call, int maxSendMessageBytes) : IServerStreamWriter<T>
    where T : IMessage<T>
{
    private bool _completed;

    public async Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_completed)
        {
            throw new InvalidOperationException("The call is complete; messages can no longer be written.");
        }

        // Writing to a call the client abandoned or whose deadline passed is pointless: stop the handler instead.
        call.CancellationToken.ThrowIfCancellationRequested();

        ServerCalls.WriteMessage(call, message, maxSendMessageBytes);
        var token = cancellationToken.CanBeCanceled ? cancellationToken : call.CancellationToken;
        await call.HttpContext.Response.BodyWriter.FlushAsync(token).ConfigureAwait(false);
    }

    public void Complete() => _completed = true;
}

/// <summary>Request reading and response writing shared by the method kinds.</summary>
internal static class ServerCalls
{
    /// <summary>
    /// Reads exactly one request message, as unary and server-streaming calls require.
    /// Zero messages and more than one message both answer INTERNAL, as grpc-java and grpc-go do for this
    /// cardinality violation; a body ending inside a message is INTERNAL too.
    /// </summary>
    public static async ValueTask<T> ReadSingleMessageAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageBytes, CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        T? message = default;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (message is null)
            {
                if (GrpcFraming.TryReadMessage(ref buffer, maxMessageBytes, out var payload))
                {
                    message = Parse(parser, payload);
                }
                else if (result.IsCompleted)
                {
                    throw buffer.IsEmpty
                        ? new RpcException(StatusCode.Internal, "no request message received for a call that takes exactly one")
                        : new RpcException(StatusCode.Internal, "request body ended inside a message (truncated frame)");
                }
            }

            if (message is not null)
            {
                if (!buffer.IsEmpty)
                {
                    throw new RpcException(StatusCode.Internal, "more than one request message received for a call that takes exactly one");
                }

                if (result.IsCompleted)
                {
                    reader.AdvanceTo(buffer.End);
                    return message;
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Frames <paramref name="message"/> into the response body (without flushing), sending the response headers first if needed.</summary>
    public static void WriteMessage(ServerCallContext call, IMessage message, int maxMessageBytes)
    {
        var response = call.HttpContext.Response;
        var size = message.CalculateSize();
        if (size > maxMessageBytes)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"response message larger than max ({size} vs. {maxMessageBytes})");
        }

        if (!call.MessageWritten)
        {
            SetResponseHeaders(response.Headers);
            call.MessageWritten = true;
        }

        GrpcFraming.WriteMessage(response.BodyWriter, message, size);
    }

    /// <summary>The headers every gRPC response carries (also the first part of a Trailers-Only response).</summary>
    public static void SetResponseHeaders(IHeaderDictionary headers)
    {
        headers.ContentType = GrpcProtocol.ContentTypeValue;
        headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.IdentityValue;
    }

    /// <summary>
    /// Ends the call with a status: in the trailers when the response has started, otherwise as a Trailers-Only
    /// response (status in the single HEADERS frame, no body).
    /// </summary>
    public static void WriteStatus(HttpResponse response, StatusCode code, string? detail, ServerCallContext? call)
    {
        if (call is not { MessageWritten: true } && !response.HasStarted)
        {
            var headers = response.Headers;
            SetResponseHeaders(headers);
            headers[GrpcProtocol.StatusHeader] = code == StatusCode.OK ? GrpcProtocol.StatusOkValue : GrpcProtocol.StatusString(code);
            if (!string.IsNullOrEmpty(detail))
            {
                headers[GrpcProtocol.MessageHeader] = PercentEncoding.Encode(detail);
            }

            if (call?.ResponseTrailers is { } extra)
            {
                foreach (var pair in extra)
                {
                    headers.Append(pair.Key, pair.Value);
                }
            }

            return;
        }

        response.AppendTrailer(GrpcProtocol.StatusHeader, code == StatusCode.OK ? GrpcProtocol.StatusOkValue : GrpcProtocol.StatusString(code));
        if (!string.IsNullOrEmpty(detail))
        {
            response.AppendTrailer(GrpcProtocol.MessageHeader, PercentEncoding.Encode(detail));
        }

        if (call?.ResponseTrailers is { } trailers)
        {
            foreach (var pair in trailers)
            {
                response.AppendTrailer(pair.Key, pair.Value);
            }
        }
    }

    private static T Parse<T>(MessageParser<T> parser, in ReadOnlySequence<byte> payload)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new RpcException(StatusCode.InvalidArgument, "request message could not be parsed");
        }
    }
}
