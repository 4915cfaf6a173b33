using BudgetGrains.Grpc.Tests.Echo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace BudgetGrains.Grpc.Tests;

public class BuilderTests
{
    private static readonly UnaryHandler<SayRequest, SayReply> SayHandler = (request, context) => Task.FromResult(new SayReply());

    [Fact]
    public void Unary_rejects_a_method_missing_from_the_descriptor()
    {
        var builder = GrpcServiceBuilder.For(EchoServerFixture.EchoDescriptor);

        var e = Assert.Throws<ArgumentException>(() => builder.Unary("Shout", SayHandler));
        Assert.Contains("Service test.v1.Echo has no method 'Shout'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unary_rejects_a_wrong_request_type()
    {
        var builder = GrpcServiceBuilder.For(EchoServerFixture.EchoDescriptor);

        var e = Assert.Throws<ArgumentException>(() => builder.Unary<FailRequest, SayReply>("Say", (r, c) => Task.FromResult(new SayReply())));
        Assert.Contains("takes test.v1.SayRequest, not test.v1.FailRequest", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unary_rejects_a_wrong_response_type()
    {
        var builder = GrpcServiceBuilder.For(EchoServerFixture.EchoDescriptor);

        var e = Assert.Throws<ArgumentException>(() => builder.Unary<SayRequest, CountReply>("Say", (r, c) => Task.FromResult(new CountReply())));
        Assert.Contains("returns test.v1.SayReply, not test.v1.CountReply", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registration_rejects_a_wrong_streaming_shape()
    {
        var builder = GrpcServiceBuilder.For(EchoServerFixture.EchoDescriptor);

        var unaryOnStream = Assert.Throws<ArgumentException>(() => builder.Unary<CountRequest, CountReply>("Count", (r, c) => Task.FromResult(new CountReply())));
        Assert.Contains("is server-streaming, not unary", unaryOnStream.Message, StringComparison.Ordinal);
        var streamOnUnary = Assert.Throws<ArgumentException>(() => builder.ServerStreaming<SayRequest, SayReply>("Say", (r, w, c) => Task.CompletedTask));
        Assert.Contains("is unary, not server-streaming", streamOnUnary.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unary_rejects_a_second_handler_for_the_same_method()
    {
        var builder = GrpcServiceBuilder.For(EchoServerFixture.EchoDescriptor).Unary("Say", SayHandler);

        var e = Assert.Throws<ArgumentException>(() => builder.Unary("Say", SayHandler));
        Assert.Contains("/test.v1.Echo/Say is already registered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GrpcMethod_validates_like_the_builder_and_exposes_the_path()
    {
        var method = GrpcMethod<SayRequest, SayReply>.From(EchoServerFixture.EchoDescriptor, "Say");
        Assert.Equal("/test.v1.Echo/Say", method.Path);
        Assert.False(method.IsServerStreaming);
        Assert.True(GrpcMethod<CountRequest, CountReply>.From(EchoServerFixture.EchoDescriptor, "Count").IsServerStreaming);

        Assert.Throws<ArgumentException>(() => GrpcMethod<SayRequest, SayReply>.From(EchoServerFixture.EchoDescriptor, "say"));
        Assert.Throws<ArgumentException>(() => GrpcMethod<SayRequest, CountReply>.From(EchoServerFixture.EchoDescriptor, "Say"));
    }

    [Fact]
    public void UseGrpcServices_rejects_the_same_service_twice()
    {
        var service = GrpcServiceBuilder.For(EchoServerFixture.EchoDescriptor).Build();
        var app = new ApplicationBuilder(new ServiceCollection().BuildServiceProvider());

        Assert.Throws<ArgumentException>(() => app.UseGrpcServices(new GrpcServerOptions(), service, service));
    }

    [Fact]
    public async Task TryGetUnary_runs_the_registered_handler_in_process()
    {
        var service = GrpcServiceBuilder.For(EchoServerFixture.EchoDescriptor)
            .Unary<SayRequest, SayReply>("Say", (request, context) => Task.FromResult(new SayReply { Text = $"{context.Method}: {request.Text}" }))
            .Build();
        var http = new DefaultHttpContext();

        Assert.True(service.TryGetUnary("Say", out var say));
        var reply = Assert.IsType<SayReply>(await say(new SayRequest { Text = "hi" }, http, CancellationToken.None));
        Assert.Equal("/test.v1.Echo/Say: hi", reply.Text);

        var wrongType = await Assert.ThrowsAsync<ArgumentException>(() => say(new FailRequest(), http, CancellationToken.None));
        Assert.Contains("takes test.v1.SayRequest, not test.v1.FailRequest", wrongType.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryGetUnary_is_false_without_a_handler_or_for_a_stream_and_throws_for_an_unknown_method()
    {
        var service = GrpcServiceBuilder.For(EchoServerFixture.EchoDescriptor)
            .ServerStreaming<CountRequest, CountReply>("Count", (request, writer, context) => Task.CompletedTask)
            .Build();

        Assert.False(service.TryGetUnary("Unhandled", out var unhandled));
        Assert.Null(unhandled);
        Assert.False(service.TryGetUnary("Count", out _));
        Assert.Throws<ArgumentException>(() => service.TryGetUnary("Shout", out _));
    }
}
