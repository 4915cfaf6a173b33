using Google.Protobuf;
using Grpc.Core;

namespace BudgetGrains.Server.Services;

/// <summary>
/// Binds a service as its generated <c>BindService</c> does, with one change: a request that is not valid protobuf is
/// answered INVALID_ARGUMENT ("request message could not be parsed") rather than Grpc.AspNetCore's UNKNOWN, since bad
/// input is the caller's error and clients branch on the code. The services name this binder in their
/// <see cref="BindServiceMethodAttribute"/>, which Grpc.AspNetCore looks up on the service type first.
/// </summary>
internal sealed class StrictRequestParsing(ServiceBinderBase inner) : ServiceBinderBase
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method,
        ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    private static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        var deserialize = method.RequestMarshaller.ContextualDeserializer;
        var marshaller = Marshallers.Create(method.RequestMarshaller.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (InvalidProtocolBufferException)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "request message could not be parsed"));
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }
}
