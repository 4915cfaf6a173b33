using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using BudgetGrains.Grpc.Internal;
using Google.Protobuf;

namespace BudgetGrains.Grpc;

/// <summary>
/// A gRPC client over HTTP/2: cleartext with prior knowledge for <c>http://</c>, TLS with ALPN for <c>https://</c>.
/// Thread-safe; create one per server and share it.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly ConcurrentDictionary<string, Uri> _methodUris = new(StringComparer.Ordinal);

    private GrpcChannel(Uri address, GrpcChannelOptions options, HttpMessageInvoker invoker)
    {
        Address = address;
        Options = options;
        _invoker = invoker;
    }

    /// <summary>The server address, e.g. <c>http://127.0.0.1:5000</c>.</summary>
    public Uri Address { get; }

    /// <summary>The options the channel was created with.</summary>
    public GrpcChannelOptions Options { get; }

    /// <summary>Creates a channel to <paramref name="address"/> (scheme http or https).</summary>
    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("The address must be an absolute http:// or https:// URI.", nameof(address));
        }

        options ??= new GrpcChannelOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxReceiveMessageBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxSendMessageBytes);

        var invoker = options.HttpHandler is { } handler
            ? new HttpMessageInvoker(handler, disposeHandler: false)
            : new HttpMessageInvoker(
                new SocketsHttpHandler
                {
                    // One HTTP/2 connection caps at the server's concurrent stream limit (100 on Kestrel); open more under load.
                    EnableMultipleHttp2Connections = true,
                    // gRPC never follows redirects or uses cookies; skipping them avoids work per request.
                    AllowAutoRedirect = false,
                    UseCookies = false,
                    UseProxy = false,
                },
                disposeHandler: true);
        return new GrpcChannel(address, options, invoker);
    }

    /// <summary>Makes a unary call.</summary>
    /// <exception cref="RpcException">The call ended with a non-OK status (remote, transport, deadline or cancellation).</exception>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new() =>
        (await UnaryWithTrailersAsync(method, request, options).ConfigureAwait(false)).Message;

    /// <summary>Makes a unary call and returns the response message with the response trailers (trailing metadata).</summary>
    /// <exception cref="RpcException">The call ended with a non-OK status (remote, transport, deadline or cancellation).</exception>
    public async Task<UnaryResponse<TResponse>> UnaryWithTrailersAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        if (method.IsServerStreaming)
        {
            throw new ArgumentException($"{method.Path} is server-streaming; use {nameof(ServerStreamingAsync)}.", nameof(method));
        }

        using var call = new ClientCall<TResponse>(this, method.Path, method.ResponseParser, options, CancellationToken.None);
        await call.StartAsync(request).ConfigureAwait(false);
        var response = await call.ReadNextAsync().ConfigureAwait(false);

        // Reading on drains the body to its end, which is where the trailers (and any extra message) are.
        var extra = await call.ReadNextAsync().ConfigureAwait(false);
        call.ThrowIfStatusNotOk();
        if (response is null)
        {
            throw new RpcException(StatusCode.Internal, "server returned OK without a response message for a unary call");
        }

        if (extra is not null)
        {
            throw new RpcException(StatusCode.Internal, "server returned more than one response message for a unary call");
        }

        return new UnaryResponse<TResponse>(response, call.ResponseTrailers());
    }

    /// <summary>
    /// Makes a server-streaming call. The call starts when enumeration starts; stopping the enumeration early cancels it.
    /// </summary>
    /// <exception cref="RpcException">Thrown while enumerating when the call ends with a non-OK status.</exception>
    public IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        if (!method.IsServerStreaming)
        {
            throw new ArgumentException($"{method.Path} is unary; use {nameof(UnaryAsync)}.", nameof(method));
        }

        return ServerStreamingCore(method, request, options, CancellationToken.None);
    }

    /// <summary>Releases the connections (when the channel created its handler).</summary>
    public void Dispose() => _invoker.Dispose();

    internal HttpMessageInvoker Invoker => _invoker;

    internal Uri UriFor(string path) => _methodUris.GetOrAdd(path, static (p, baseUri) => new Uri(baseUri, p), Address);

    private async IAsyncEnumerable<TResponse> ServerStreamingCore<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        TRequest request,
        CallOptions options,
        [EnumeratorCancellation] CancellationToken enumerationToken)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new()
    {
        using var call = new ClientCall<TResponse>(this, method.Path, method.ResponseParser, options, enumerationToken);
        await call.StartAsync(request).ConfigureAwait(false);
        while (await call.ReadNextAsync().ConfigureAwait(false) is { } message)
        {
            yield return message;
        }

        call.ThrowIfStatusNotOk();
    }
}
