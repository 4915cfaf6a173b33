using System.Diagnostics.CodeAnalysis;
using BudgetGrains.Grpc.Internal;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace BudgetGrains.Grpc;

/// <summary>
/// Collects handlers for the methods of one protobuf service. Every registration is checked against the
/// descriptor (method exists, request/response types and streaming shape match), so handlers cannot drift from the .proto.
/// </summary>
public sealed class GrpcServiceBuilder
{
    private readonly ServiceDescriptor _descriptor;
    private readonly Dictionary<string, ServerMethod> _methods = new(StringComparer.Ordinal);

    private GrpcServiceBuilder(ServiceDescriptor descriptor) => _descriptor = descriptor;

    /// <summary>Starts a service for <paramref name="descriptor"/> (e.g. <c>FooReflection.Descriptor.Services[0]</c>).</summary>
    public static GrpcServiceBuilder For(ServiceDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return new GrpcServiceBuilder(descriptor);
    }

    /// <summary>Registers the handler of unary method <paramref name="methodName"/>.</summary>
    /// <exception cref="ArgumentException">No such method, wrong message types, not unary, or already registered.</exception>
    public GrpcServiceBuilder Unary<TRequest, TResponse>(string methodName, UnaryHandler<TRequest, TResponse> handler)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(handler);
        var method = MethodValidation.Resolve<TRequest, TResponse>(_descriptor, methodName, MethodKind.Unary);
        return Add(new UnaryServerMethod<TRequest, TResponse>(MethodValidation.PathOf(method), handler));
    }

    /// <summary>Registers the handler of server-streaming method <paramref name="methodName"/>.</summary>
    /// <exception cref="ArgumentException">No such method, wrong message types, not server-streaming, or already registered.</exception>
    public GrpcServiceBuilder ServerStreaming<TRequest, TResponse>(string methodName, ServerStreamingHandler<TRequest, TResponse> handler)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(handler);
        var method = MethodValidation.Resolve<TRequest, TResponse>(_descriptor, methodName, MethodKind.ServerStreaming);
        return Add(new ServerStreamingServerMethod<TRequest, TResponse>(MethodValidation.PathOf(method), handler));
    }

    /// <summary>Freezes the registrations. Methods of the descriptor without a handler answer UNIMPLEMENTED.</summary>
    public GrpcService Build() => new(_descriptor, new Dictionary<string, ServerMethod>(_methods, StringComparer.Ordinal));

    private GrpcServiceBuilder Add(ServerMethod method)
    {
        if (!_methods.TryAdd(method.Path, method))
        {
            throw new ArgumentException($"A handler for {method.Path} is already registered.");
        }

        return this;
    }
}

/// <summary>A protobuf service with its handlers, ready to be served by <see cref="GrpcApplicationBuilderExtensions.UseGrpcServices"/>.</summary>
public sealed class GrpcService
{
    internal GrpcService(ServiceDescriptor descriptor, IReadOnlyDictionary<string, ServerMethod> methods)
    {
        Descriptor = descriptor;
        Methods = methods;
    }

    /// <summary>The protobuf service this instance serves.</summary>
    public ServiceDescriptor Descriptor { get; }

    /// <summary>Handlers by request path (<c>/pkg.Service/Method</c>).</summary>
    internal IReadOnlyDictionary<string, ServerMethod> Methods { get; }

    /// <summary>
    /// The registered handler of unary method <paramref name="methodName"/>, to call in-process with a request message
    /// (so that another protocol, such as a REST mirror, runs the very same handler). False when the method has no
    /// handler (gRPC callers get UNIMPLEMENTED) or is not unary.
    /// </summary>
    /// <exception cref="ArgumentException">The service has no method <paramref name="methodName"/>.</exception>
    public bool TryGetUnary(string methodName, [NotNullWhen(true)] out InProcessUnaryHandler? handler)
    {
        ArgumentNullException.ThrowIfNull(methodName);
        var method = Descriptor.FindMethodByName(methodName)
            ?? throw new ArgumentException($"Service {Descriptor.FullName} has no method '{methodName}'.", nameof(methodName));
        handler = Methods.TryGetValue(MethodValidation.PathOf(method), out var served) ? served.InProcess : null;
        return handler is not null;
    }
}
