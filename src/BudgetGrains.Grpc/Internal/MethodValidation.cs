using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace BudgetGrains.Grpc.Internal;

/// <summary>Which call shapes this library supports.</summary>
internal enum MethodKind
{
    Unary,
    ServerStreaming,
}

/// <summary>
/// Binds a method name and CLR message types to a method of a service descriptor, refusing any mismatch so that
/// handler and client names can never drift from the .proto.
/// </summary>
internal static class MethodValidation
{
    /// <param name="kind">The required shape, or null to accept any shape this library supports.</param>
    public static MethodDescriptor Resolve<TRequest, TResponse>(ServiceDescriptor service, string methodName, MethodKind? kind)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(methodName);

        var method = service.FindMethodByName(methodName)
            ?? throw new ArgumentException($"Service {service.FullName} has no method '{methodName}'.", nameof(methodName));

        var requestType = new TRequest().Descriptor;
        if (method.InputType.FullName != requestType.FullName)
        {
            throw new ArgumentException(
                $"Method {service.FullName}.{methodName} takes {method.InputType.FullName}, not {requestType.FullName} ({typeof(TRequest).Name}).",
                nameof(TRequest));
        }

        var responseType = new TResponse().Descriptor;
        if (method.OutputType.FullName != responseType.FullName)
        {
            throw new ArgumentException(
                $"Method {service.FullName}.{methodName} returns {method.OutputType.FullName}, not {responseType.FullName} ({typeof(TResponse).Name}).",
                nameof(TResponse));
        }

        var actualKind = Describe(method);
        var accepted = kind switch
        {
            MethodKind.Unary => actualKind == UnaryName,
            MethodKind.ServerStreaming => actualKind == ServerStreamingName,
            _ => actualKind is UnaryName or ServerStreamingName,
        };
        if (!accepted)
        {
            var expected = kind switch
            {
                MethodKind.Unary => UnaryName,
                MethodKind.ServerStreaming => ServerStreamingName,
                _ => UnaryName + " or " + ServerStreamingName,
            };
            throw new ArgumentException($"Method {service.FullName}.{methodName} is {actualKind}, not {expected}.", nameof(methodName));
        }

        return method;
    }

    /// <summary>The request path of a method: <c>/pkg.Service/Method</c>.</summary>
    public static string PathOf(MethodDescriptor method) => "/" + method.Service.FullName + "/" + method.Name;

    private const string UnaryName = "unary";
    private const string ServerStreamingName = "server-streaming";

    private static string Describe(MethodDescriptor method) => (method.IsClientStreaming, method.IsServerStreaming) switch
    {
        (false, false) => UnaryName,
        (false, true) => ServerStreamingName,
        (true, false) => "client-streaming",
        (true, true) => "bidirectional-streaming",
    };
}
