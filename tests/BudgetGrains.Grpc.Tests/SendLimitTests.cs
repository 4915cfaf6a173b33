using BudgetGrains.Grpc.Tests.Echo;
using Xunit;

namespace BudgetGrains.Grpc.Tests;

public class SendLimitTests(SmallSendLimitServerFixture server) : IClassFixture<SmallSendLimitServerFixture>
{
    [Fact]
    public async Task Response_over_the_send_limit_is_resource_exhausted()
    {
        var say = GrpcMethod<SayRequest, SayReply>.From(EchoServerFixture.EchoDescriptor, "Say");

        var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(say, new SayRequest { Text = "world" }));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal($"response message larger than max (13 vs. {SmallSendLimitServerFixture.MaxSendMessageBytes})", e.Detail);
    }
}
