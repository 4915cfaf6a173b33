using BudgetGrains.Grpc.Tests.Echo;
using Xunit;

namespace BudgetGrains.Grpc.Tests;

/// <summary>GrpcChannel.UnaryWithTrailersAsync: the response message with the handler's trailers, without the protocol's own.</summary>
public class TrailerTests(EchoServerFixture server) : IClassFixture<EchoServerFixture>
{
    private static readonly GrpcMethod<SayRequest, SayReply> Say = GrpcMethod<SayRequest, SayReply>.From(EchoServerFixture.EchoDescriptor, "Say");

    [Fact]
    public async Task A_unary_call_returns_the_handlers_trailers_with_the_message()
    {
        var answer = await server.Channel.UnaryWithTrailersAsync(Say, new SayRequest { Text = "abcd" });

        Assert.Equal("hello abcd", answer.Message.Text);
        Assert.Equal("4", answer.Trailers["x-echo-length"]);
        Assert.DoesNotContain(answer.Trailers.Keys, name => name.StartsWith("grpc-", StringComparison.Ordinal));
    }
}
