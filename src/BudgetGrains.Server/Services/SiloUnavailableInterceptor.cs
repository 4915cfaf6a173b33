using Grpc.Core;
using Grpc.Core.Interceptors;
using Orleans.Runtime;

namespace BudgetGrains.Server.Services;

/// <summary>
/// In a cluster a grain call can fail because the silo hosting the grain just died (Orleans rejects the message) or
/// does not answer in time: the call did not happen or its outcome will be retried with the same id, so the caller gets
/// UNAVAILABLE (retry, any silo) rather than UNKNOWN. The REST mirror maps the same exceptions (HTTP 503).
/// </summary>
internal sealed class SiloUnavailableInterceptor : Interceptor
{
    /// <summary>True for the exceptions that mean "the grain's silo is gone or slow": retry with the same id.</summary>
    public static bool IsUnavailable(Exception e) => e is OrleansMessageRejectionException or TimeoutException;

    public const string Message = "the silo holding this request's grain is unavailable (it died or does not answer); retry with the same id, on any silo";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw new RpcException(new Status(StatusCode.Unavailable, Message, e));
        }
    }
}
