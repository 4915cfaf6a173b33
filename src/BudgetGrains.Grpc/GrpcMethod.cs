using BudgetGrains.Grpc.Internal;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace BudgetGrains.Grpc;

/// <summary>A client-side handle on one method of a protobuf service: its path, shape and response parser.</summary>
/// <typeparam name="TRequest">The request message type; must be the method's input type.</typeparam>
/// <typeparam name="TResponse">The response message type; must be the method's output type.</typeparam>
public sealed class GrpcMethod<TRequest, TResponse>
    where TRequest : IMessage<TRequest>, new()
    where TResponse : IMessage<TResponse>, new()
{
    private GrpcMethod(MethodDescriptor descriptor)
    {
        Descriptor = descriptor;
        Path = MethodValidation.PathOf(descriptor);
        ResponseParser = new MessageParser<TResponse>(() => new TResponse());
    }

    /// <summary>The protobuf method.</summary>
    public MethodDescriptor Descriptor { get; }

    /// <summary>The request path, <c>/pkg.Service/Method</c>.</summary>
    public string Path { get; }

    /// <summary>True when the server answers with a stream of messages.</summary>
    public bool IsServerStreaming => Descriptor.IsServerStreaming;

    internal MessageParser<TResponse> ResponseParser { get; }

    /// <summary>Binds method <paramref name="methodName"/> of <paramref name="service"/>, checking it exists and that its types are TRequest/TResponse.</summary>
    /// <exception cref="ArgumentException">No such method, wrong message types, or a client/bidirectional-streaming method (unsupported).</exception>
    public static GrpcMethod<TRequest, TResponse> From(ServiceDescriptor service, string methodName) =>
        new(MethodValidation.Resolve<TRequest, TResponse>(service, methodName, kind: null));
}
