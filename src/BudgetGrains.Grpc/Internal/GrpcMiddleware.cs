using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Grpc.Internal;

/// <summary>Dispatches gRPC requests to their method and turns every outcome into a gRPC status.</summary>
internal sealed class GrpcMiddleware(RequestDelegate next, GrpcServerOptions options, Dictionary<string, ServerMethod> methods, HashSet<string> serviceNames)
{
    /// <summary>
    /// Timers cannot be armed further out than this (about 49 days); a longer timeout is kept as a deadline
    /// but never fires, which is indistinguishable from an infinite one in practice.
    /// </summary>
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>What the client sees for a handler failure that is not an <see cref="RpcException"/>; details stay in the server log.</summary>
    internal const string HandlerFailedDetail = "Exception was thrown by handler.";

    private static readonly Action<ILogger, string, Exception> LogHandlerFailed = LoggerMessage.Define<string>(
        LogLevel.Error, new EventId(1, "GrpcHandlerFailed"), "gRPC handler for {Method} threw an exception");

    public Task InvokeAsync(HttpContext context)
    {
        if (!GrpcProtocol.IsGrpcContentType(context.Request.ContentType))
        {
            return next(context);
        }

        if (!methods.TryGetValue(context.Request.Path.Value ?? string.Empty, out var method))
        {
            ServerCalls.WriteStatus(context.Response, StatusCode.Unimplemented, DescribeUnknownPath(context.Request.Path.Value), call: null);
            return Task.CompletedTask;
        }

        if (!HttpProtocol.IsHttp2(context.Request.Protocol) && !HttpProtocol.IsHttp3(context.Request.Protocol))
        {
            // HTTP/1.1 (possible on a TLS endpoint shared with REST) cannot carry the trailers every gRPC response ends with.
            ServerCalls.WriteStatus(context.Response, StatusCode.Internal, $"gRPC requires HTTP/2, not {context.Request.Protocol}", call: null);
            return Task.CompletedTask;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            // The spec only defines POST; grpc-go likewise refuses other methods without running the handler.
            ServerCalls.WriteStatus(context.Response, StatusCode.Unimplemented, $"HTTP method {context.Request.Method} is not supported; gRPC requires POST", call: null);
            return Task.CompletedTask;
        }

        return HandleCallAsync(context, method);
    }

    private async Task HandleCallAsync(HttpContext http, ServerMethod method)
    {
        var requestAborted = http.RequestAborted;
        CancellationTokenSource? deadlineSource = null;
        DateTimeOffset? deadline = null;
        var token = requestAborted;

        var timeoutHeader = http.Request.Headers[GrpcProtocol.TimeoutHeader];
        if (timeoutHeader.Count > 0)
        {
            if (timeoutHeader.Count > 1 || !GrpcTimeout.TryParse(timeoutHeader[0], out var timeout))
            {
                // As grpc-go: a malformed timeout is a protocol error of the client.
                ServerCalls.WriteStatus(http.Response, StatusCode.Internal, $"malformed grpc-timeout: {timeoutHeader}", call: null);
                return;
            }

            var now = DateTimeOffset.UtcNow;
            deadline = timeout < DateTimeOffset.MaxValue - now ? now + timeout : DateTimeOffset.MaxValue;
            deadlineSource = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
            if (timeout <= MaxTimerDelay)
            {
                deadlineSource.CancelAfter(timeout);
            }

            token = deadlineSource.Token;
        }

        var call = new ServerCallContext(http, method.Path, deadline, token);
        try
        {
            await method.HandleAsync(call, options).ConfigureAwait(false);
            ServerCalls.WriteStatus(http.Response, StatusCode.OK, detail: null, call);
        }
        catch (Exception) when (requestAborted.IsCancellationRequested)
        {
            // The client cancelled or went away: the stream is reset, there is nobody to answer.
        }
        catch (OperationCanceledException) when (deadlineSource is { IsCancellationRequested: true })
        {
            ServerCalls.WriteStatus(http.Response, StatusCode.DeadlineExceeded, "Deadline Exceeded", call);
        }
        catch (RpcException e)
        {
            ServerCalls.WriteStatus(http.Response, e.StatusCode, e.Detail, call);
        }
        catch (Exception e)
        {
            if (http.RequestServices?.GetService<ILoggerFactory>() is { } loggerFactory)
            {
                LogHandlerFailed(loggerFactory.CreateLogger<GrpcMiddleware>(), method.Path, e);
            }

            ServerCalls.WriteStatus(http.Response, StatusCode.Unknown, HandlerFailedDetail, call);
        }
        finally
        {
            deadlineSource?.Dispose();
        }
    }

    private string DescribeUnknownPath(string? path)
    {
        // Path is "/pkg.Service/Method"; word the error like grpc-go so clients see familiar messages.
        var trimmed = path is { Length: > 0 } && path[0] == '/' ? path.AsSpan(1) : path.AsSpan();
        var slash = trimmed.IndexOf('/');
        if (slash <= 0)
        {
            return $"malformed method name: {path}";
        }

        var service = trimmed.Slice(0, slash).ToString();
        var methodName = trimmed.Slice(slash + 1).ToString();
        return serviceNames.Contains(service)
            ? $"unknown method {methodName} for service {service}"
            : $"unknown service {service}";
    }
}
