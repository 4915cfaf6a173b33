using Google.Protobuf;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.Core;

namespace BudgetGrains.Server.Rest;

/// <summary>A unary rpc of a gRPC service instance, called in-process with a request message.</summary>
internal delegate Task<IMessage> InProcessUnary(IMessage request, ServerCallContext context);

/// <summary>A server-streaming rpc of a gRPC service instance, called in-process: each response message goes to <c>write</c>.</summary>
internal delegate Task InProcessStream(IMessage request, Func<IMessage, Task> write, ServerCallContext context);

/// <summary>A gRPC service instance as the REST mirror calls it: its unary and server-streaming rpcs by name, and the
/// routes bound to them.</summary>
internal sealed record RestService(ServiceDescriptor Descriptor, IReadOnlyDictionary<string, InProcessUnary> Methods,
    IReadOnlyDictionary<string, InProcessStream> Streams, IReadOnlyList<RestRoute> Routes)
{
    /// <summary>
    /// Collects the unary rpcs of a service instance through its generated <c>BindService</c>, the very binding
    /// Grpc.AspNetCore serves, so a REST call runs the same override as a gRPC call.
    /// </summary>
    public static RestService Of(ServiceDescriptor descriptor, Action<ServiceBinderBase> bindService, IReadOnlyList<RestRoute> routes)
    {
        var binder = new HandlerCollector();
        bindService(binder);
        return new RestService(descriptor, binder.Methods, binder.Streams, routes);
    }

    private sealed class HandlerCollector : ServiceBinderBase
    {
        public Dictionary<string, InProcessUnary> Methods { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, InProcessStream> Streams { get; } = new(StringComparer.Ordinal);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            if (handler is not null) Methods.Add(method.Name, async (request, context) => (IMessage)await handler((TRequest)request, context));
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            if (handler is not null)
                Streams.Add(method.Name, (request, write, context) => handler((TRequest)request, new CallbackWriter<TResponse>(write), context));
        }
    }

    private sealed class CallbackWriter<T>(Func<IMessage, Task> write) : IServerStreamWriter<T>
    {
        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(T message) => write((IMessage)message!);

        // The write itself is cancelled with the HTTP request (the mirror passes RequestAborted to the body's writes).
        public Task WriteAsync(T message, CancellationToken cancellationToken) => write((IMessage)message!);
    }
}

/// <summary>
/// The call context of an rpc called in-process by the REST mirror: no deadline, cancelled when the HTTP client goes away.
/// There is no gRPC response to carry metadata, so response headers and trailers (the status mark) are dropped; the
/// HTTP request is reachable through Grpc.AspNetCore's <c>GetHttpContext()</c>, as for a gRPC call.
/// </summary>
internal sealed class InProcessCallContext : ServerCallContext
{
    private readonly HttpContext _http;

    public InProcessCallContext(HttpContext http, string method)
    {
        (_http, MethodCore) = (http, method);
        // The key GetHttpContext() reads when the context is not Grpc.AspNetCore's own.
        UserState["__HttpContext"] = http;
    }

    protected override string MethodCore { get; }

    protected override string HostCore => _http.Request.Host.Value ?? "";

    protected override string PeerCore => $"{_http.Connection.RemoteIpAddress}:{_http.Connection.RemotePort}";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore { get; } = [];

    protected override CancellationToken CancellationTokenCore => _http.RequestAborted;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("an rpc called through the REST mirror cannot propagate its context");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
