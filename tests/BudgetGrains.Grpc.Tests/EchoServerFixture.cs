using System.Net;
using BudgetGrains.Grpc.Tests.Echo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace BudgetGrains.Grpc.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 (h2c) serving the test Echo service, shared by a test class.</summary>
public class EchoServerFixture : IAsyncLifetime
{
    /// <summary>Small so that the size-limit tests stay fast.</summary>
    public const int MaxReceiveMessageBytes = 64 * 1024;

    /// <summary>Body of the fallback endpoint that non-gRPC requests reach.</summary>
    public const string NotGrpcBody = "not grpc";

    private readonly GrpcServerOptions _options;
    private WebApplication? _app;

    public EchoServerFixture()
        : this(new GrpcServerOptions { MaxReceiveMessageBytes = MaxReceiveMessageBytes })
    {
    }

    protected EchoServerFixture(GrpcServerOptions options) => _options = options;

    /// <summary>Everything the server logged.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public Uri Address { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    /// <summary>Raw HTTP/2 client for hand-made bodies.</summary>
    public HttpClient Http { get; private set; } = null!;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _waitCancellations = new();

    public static Google.Protobuf.Reflection.ServiceDescriptor EchoDescriptor => EchoReflection.Descriptor.Services[0];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(Logs);
        builder.WebHost.ConfigureKestrel(k => k.ListenGrpc(new IPEndPoint(IPAddress.Loopback, 0)));
        _app = builder.Build();
        _app.UseGrpcServices(_options, BuildEchoService());
        _app.Run(context => context.Response.WriteAsync(NotGrpcBody));
        await _app.StartAsync();

        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Address = new Uri(Assert.Single(addresses));
        Channel = GrpcChannel.ForAddress(Address);
        Http = new HttpClient(new SocketsHttpHandler())
        {
            BaseAddress = Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public async Task DisposeAsync()
    {
        GC.SuppressFinalize(this);
        Channel.Dispose();
        Http.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>Completes when the Wait handler of the call with <paramref name="id"/> observes its cancellation token.</summary>
    public Task WaitHandlerCancelled(string id) => WaitCancellation(id).Task;

    private TaskCompletionSource WaitCancellation(string id) =>
        _waitCancellations.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private GrpcService BuildEchoService() => GrpcServiceBuilder.For(EchoDescriptor)
        .Unary<SayRequest, SayReply>("Say", (request, context) =>
        {
            context.AddResponseTrailer("x-echo-length", request.Text.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var tenant = context.RequestHeaders["x-tenant"].ToString();
            return Task.FromResult(new SayReply { Text = "hello " + request.Text + (tenant.Length > 0 ? " from " + tenant : string.Empty) });
        })
        .ServerStreaming<CountRequest, CountReply>("Count", async (request, writer, context) =>
        {
            for (var i = 1; i <= request.Count; i++)
            {
                if (request.FailAfter > 0 && i > request.FailAfter)
                {
                    throw new RpcException(StatusCode.Aborted, "stopped after " + request.FailAfter);
                }

                await writer.WriteAsync(new CountReply { Value = i });
            }
        })
        .Unary<FailRequest, SayReply>("Fail", (request, context) =>
        {
            if (request.PlainException)
            {
                throw new InvalidOperationException("secret internal detail");
            }

            throw new RpcException((StatusCode)request.Code, request.Detail);
        })
        .Unary<WaitRequest, SayReply>("Wait", async (request, context) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                WaitCancellation(request.Id).TrySetResult();
                throw;
            }

            return new SayReply();
        })
        .Build();
}

/// <summary>The Echo server with a response size limit small enough for "hello world" to exceed it.</summary>
public sealed class SmallSendLimitServerFixture() : EchoServerFixture(new GrpcServerOptions { MaxSendMessageBytes = MaxSendMessageBytes })
{
    public const int MaxSendMessageBytes = 8;
}

/// <summary>Keeps log entries in memory so that tests can assert what the server logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Category, LogLevel Level, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyCollection<(string Category, LogLevel Level, string Message, Exception? Exception)> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<(string, LogLevel, string, Exception?)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((category, logLevel, formatter(state, exception), exception));
    }
}
