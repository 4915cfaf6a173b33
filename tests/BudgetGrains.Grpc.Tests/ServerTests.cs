using System.Net;
using BudgetGrains.Grpc.Tests.Echo;
using Google.Protobuf;
using Xunit;

namespace BudgetGrains.Grpc.Tests;

public class ServerTests(EchoServerFixture server) : IClassFixture<EchoServerFixture>
{
    private static readonly GrpcMethod<SayRequest, SayReply> Say = GrpcMethod<SayRequest, SayReply>.From(EchoServerFixture.EchoDescriptor, "Say");
    private static readonly GrpcMethod<CountRequest, CountReply> Count = GrpcMethod<CountRequest, CountReply>.From(EchoServerFixture.EchoDescriptor, "Count");
    private static readonly GrpcMethod<FailRequest, SayReply> Fail = GrpcMethod<FailRequest, SayReply>.From(EchoServerFixture.EchoDescriptor, "Fail");
    private static readonly GrpcMethod<WaitRequest, SayReply> Wait = GrpcMethod<WaitRequest, SayReply>.From(EchoServerFixture.EchoDescriptor, "Wait");
    private static readonly GrpcMethod<SayRequest, SayReply> Unhandled = GrpcMethod<SayRequest, SayReply>.From(EchoServerFixture.EchoDescriptor, "Unhandled");

    [Fact]
    public async Task Unary_round_trip()
    {
        var reply = await server.Channel.UnaryAsync(Say, new SayRequest { Text = "world" });

        Assert.Equal("hello world", reply.Text);
    }

    [Fact]
    public async Task Unary_response_has_grpc_headers_message_and_trailers()
    {
        var result = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", RawGrpc.Frame(new SayRequest { Text = "abc" }));

        Assert.Equal(HttpStatusCode.OK, result.HttpStatus);
        Assert.Equal(new Version(2, 0), result.Response.Version);
        Assert.Equal("application/grpc", result.ContentType);
        Assert.False(result.TrailersOnly);
        Assert.Equal(RawGrpc.Frame(new SayReply { Text = "hello abc" }), result.Body);
        Assert.Equal("0", result.GrpcStatus);
        Assert.Null(result.GrpcMessage);
        Assert.Equal("3", result.Response.TrailingHeaders.GetValues("x-echo-length").Single());
    }

    [Fact]
    public async Task Server_streaming_sends_every_message_then_ok()
    {
        var values = new List<int>();
        await foreach (var reply in server.Channel.ServerStreamingAsync(Count, new CountRequest { Count = 5 }))
        {
            values.Add(reply.Value);
        }

        Assert.Equal([1, 2, 3, 4, 5], values);
    }

    [Fact]
    public async Task Server_streaming_failure_after_messages_arrives_in_trailers()
    {
        var values = new List<int>();
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var reply in server.Channel.ServerStreamingAsync(Count, new CountRequest { Count = 5, FailAfter = 2 }))
            {
                values.Add(reply.Value);
            }
        });

        Assert.Equal([1, 2], values);
        Assert.Equal(StatusCode.Aborted, e.StatusCode);
        Assert.Equal("stopped after 2", e.Detail);
    }

    [Fact]
    public async Task Handler_RpcException_gives_its_code_and_percent_encoded_detail()
    {
        const string detail = "100% ünïcode\n";

        var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(Fail, new FailRequest { Code = (int)StatusCode.FailedPrecondition, Detail = detail }));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Equal(detail, e.Detail);

        var raw = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Fail", RawGrpc.Frame(new FailRequest { Code = 9, Detail = detail }));
        Assert.True(raw.TrailersOnly);
        Assert.Empty(raw.Body);
        Assert.Equal("application/grpc", raw.ContentType);
        Assert.Equal("9", raw.GrpcStatus);
        Assert.Equal("100%25 %C3%BCn%C3%AFcode%0A", raw.GrpcMessage);
    }

    [Fact]
    public async Task Handler_plain_exception_gives_unknown_without_leaking_details()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(Fail, new FailRequest { PlainException = true }));

        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.Equal("Exception was thrown by handler.", e.Detail);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
        var logged = Assert.Single(server.Logs.Entries, entry => entry.Exception is InvalidOperationException { Message: "secret internal detail" });
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Error, logged.Level);
        Assert.Equal("gRPC handler for /test.v1.Echo/Fail threw an exception", logged.Message);
    }

    [Fact]
    public async Task Unknown_method_unknown_service_and_unhandled_method_are_unimplemented()
    {
        var unhandled = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(Unhandled, new SayRequest()));
        Assert.Equal(StatusCode.Unimplemented, unhandled.StatusCode);
        Assert.Equal("unknown method Unhandled for service test.v1.Echo", unhandled.Detail);

        var unknownMethod = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Shout", RawGrpc.Frame(new SayRequest()));
        Assert.Equal(("12", "unknown method Shout for service test.v1.Echo"), (unknownMethod.GrpcStatus, unknownMethod.GrpcMessage));
        Assert.True(unknownMethod.TrailersOnly);

        var unknownService = await RawGrpc.PostAsync(server.Http, "/test.v1.Nope/Say", RawGrpc.Frame(new SayRequest()));
        Assert.Equal(("12", "unknown service test.v1.Nope"), (unknownService.GrpcStatus, unknownService.GrpcMessage));
    }

    [Fact]
    public async Task Non_post_grpc_request_is_unimplemented()
    {
        var result = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", RawGrpc.Frame(new SayRequest()), method: "PUT");

        Assert.Equal("12", result.GrpcStatus);
        Assert.Equal("HTTP method PUT is not supported; gRPC requires POST", result.GrpcMessage);
    }

    [Fact]
    public async Task Non_grpc_requests_go_to_the_rest_of_the_pipeline()
    {
        var result = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", RawGrpc.Frame(new SayRequest()), contentType: "application/grpc-web");

        Assert.Null(result.GrpcStatus);
        Assert.Equal(EchoServerFixture.NotGrpcBody, System.Text.Encoding.UTF8.GetString(result.Body));
    }

    [Fact]
    public async Task Deadline_exceeded_cancels_the_handler()
    {
        var request = new WaitRequest { Id = Guid.NewGuid().ToString() };

        var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(Wait, request, new CallOptions(Deadline: DateTimeOffset.UtcNow.AddMilliseconds(200))));

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Equal("Deadline Exceeded", e.Detail);
        await server.WaitHandlerCancelled(request.Id).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Server_enforces_grpc_timeout_itself()
    {
        // No local deadline on this client: the status must come from the server.
        var request = new WaitRequest { Id = Guid.NewGuid().ToString() };

        var result = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Wait", RawGrpc.Frame(request), timeout: "100m");

        Assert.Equal("4", result.GrpcStatus);
        Assert.Equal("Deadline Exceeded", result.GrpcMessage);
        Assert.True(result.TrailersOnly);
        await server.WaitHandlerCancelled(request.Id).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Malformed_grpc_timeout_is_internal()
    {
        var result = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", RawGrpc.Frame(new SayRequest()), timeout: "10x");

        Assert.Equal("13", result.GrpcStatus);
        Assert.Equal("malformed grpc-timeout: 10x", result.GrpcMessage);
    }

    [Fact]
    public async Task Oversized_request_message_is_resource_exhausted()
    {
        var request = new SayRequest { Padding = ByteString.CopyFrom(new byte[EchoServerFixture.MaxReceiveMessageBytes]) };

        var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(Say, request));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal($"received message larger than max ({request.CalculateSize()} vs. {EchoServerFixture.MaxReceiveMessageBytes})", e.Detail);
    }

    [Fact]
    public async Task Oversized_request_is_refused_from_its_prefix_without_waiting_for_the_body()
    {
        // Declares 1 GiB and never sends it: an answer proves the server did not try to buffer the message.
        using var content = new PrefixOnlyContent(RawGrpc.Frame(0, [], declaredLength: 1 << 30));
        var result = await RawGrpc.SendAsync(server.Http, "/test.v1.Echo/Say", content).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("8", result.GrpcStatus);
        Assert.Equal($"received message larger than max ({1 << 30} vs. {EchoServerFixture.MaxReceiveMessageBytes})", result.GrpcMessage);
    }

    [Fact]
    public async Task Garbage_protobuf_is_invalid_argument()
    {
        // Field 1, length-delimited, declares 5 bytes but only 1 follows.
        var result = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", RawGrpc.Frame(0, [0x0A, 0x05, 0x01]));

        Assert.Equal("3", result.GrpcStatus);
        Assert.Equal("request message could not be parsed", result.GrpcMessage);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    public async Task Truncated_frame_is_internal(int keep)
    {
        var frame = RawGrpc.Frame(new SayRequest { Text = "truncated" });

        var result = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", frame[..keep]);

        Assert.Equal("13", result.GrpcStatus);
        Assert.Equal("request body ended inside a message (truncated frame)", result.GrpcMessage);
    }

    [Fact]
    public async Task Compressed_message_is_unimplemented()
    {
        var result = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", RawGrpc.Frame(1, new SayRequest { Text = "x" }.ToByteArray()));

        Assert.Equal("12", result.GrpcStatus);
        Assert.Equal("compressed messages are not supported; only the identity encoding is accepted", result.GrpcMessage);
        Assert.Equal("identity", result.Response.Headers.GetValues("grpc-accept-encoding").Single());
    }

    [Fact]
    public async Task Zero_or_two_request_messages_on_a_unary_call_are_internal()
    {
        var none = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", []);
        Assert.Equal(("13", "no request message received for a call that takes exactly one"), (none.GrpcStatus, none.GrpcMessage));

        var frame = RawGrpc.Frame(new SayRequest { Text = "x" });
        var two = await RawGrpc.PostAsync(server.Http, "/test.v1.Echo/Say", [.. frame, .. frame]);
        Assert.Equal(("13", "more than one request message received for a call that takes exactly one"), (two.GrpcStatus, two.GrpcMessage));
    }

    [Fact]
    public async Task Caller_cancellation_is_cancelled_and_stops_the_handler()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var request = new WaitRequest { Id = Guid.NewGuid().ToString() };

        var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(Wait, request, new CallOptions(CancellationToken: cts.Token)));

        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        // The stream reset reaches the server and cancels the handler's token: work stops.
        await server.WaitHandlerCancelled(request.Id).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Expired_deadline_fails_before_sending()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(Say, new SayRequest(), new CallOptions(Deadline: DateTimeOffset.UtcNow.AddSeconds(-1))));

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
    }

    [Fact]
    public async Task Client_refuses_to_send_an_oversized_message()
    {
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxSendMessageBytes = 10 });

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Say, new SayRequest { Text = "more than ten bytes" }));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public async Task Client_refuses_an_oversized_response()
    {
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxReceiveMessageBytes = 8 });

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Say, new SayRequest { Text = "world" }));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal("received message larger than max (13 vs. 8)", e.Detail);
    }

    [Fact]
    public async Task Connection_refused_is_unavailable()
    {
        // Bind then release a port so that nothing listens on it.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var channel = GrpcChannel.ForAddress(new Uri($"http://127.0.0.1:{port}"));

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Say, new SayRequest()));

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
    }

    [Fact]
    public async Task Custom_headers_reach_the_handler_context()
    {
        var reply = await server.Channel.UnaryAsync(Say, new SayRequest { Text = "h" }, new CallOptions(Headers: new Dictionary<string, string> { ["x-tenant"] = "t1" }));

        Assert.Equal("hello h from t1", reply.Text);
    }

    /// <summary>Sends a message prefix, then holds the request stream open until the exchange ends.</summary>
    private sealed class PrefixOnlyContent(byte[] prefix) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(prefix, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
