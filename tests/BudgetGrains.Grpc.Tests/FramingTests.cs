using System.Buffers;
using BudgetGrains.Grpc.Internal;
using BudgetGrains.Grpc.Tests.Echo;
using Google.Protobuf;
using Xunit;

namespace BudgetGrains.Grpc.Tests;

public class FramingTests
{
    [Fact]
    public void WriteMessage_writes_zero_flag_and_big_endian_length_then_message()
    {
        var message = new SayReply { Text = new string('x', 300) };
        var writer = new ArrayBufferWriter<byte>();

        GrpcFraming.WriteMessage(writer, message, message.CalculateSize());

        var bytes = writer.WrittenSpan;
        var size = message.CalculateSize();
        Assert.Equal(303, size);
        Assert.Equal(new byte[] { 0, 0, 0, 0x01, 0x2F }, bytes[..5].ToArray());
        Assert.Equal(message.ToByteArray(), bytes[5..].ToArray());
    }

    [Fact]
    public void TryReadMessage_reads_message_split_across_segments_and_leaves_the_rest()
    {
        var first = new SayReply { Text = "first" };
        var second = new SayReply { Text = "second" };
        var all = RawGrpc.Frame(first).Concat(RawGrpc.Frame(second)).ToArray();

        // One segment per byte: the prefix and the message both straddle segment boundaries.
        var buffer = Segmented(all, 1);
        Assert.True(GrpcFraming.TryReadMessage(ref buffer, 1024, out var payload));
        Assert.Equal("first", SayReply.Parser.ParseFrom(payload).Text);
        Assert.True(GrpcFraming.TryReadMessage(ref buffer, 1024, out payload));
        Assert.Equal("second", SayReply.Parser.ParseFrom(payload).Text);
        Assert.True(buffer.IsEmpty);
        Assert.False(GrpcFraming.TryReadMessage(ref buffer, 1024, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(9)]
    public void TryReadMessage_needs_more_data_for_an_incomplete_frame(int available)
    {
        var frame = RawGrpc.Frame(new SayReply { Text = "hello world" });
        var buffer = Segmented(frame.AsSpan(0, available).ToArray(), 2);

        Assert.False(GrpcFraming.TryReadMessage(ref buffer, 1024, out _));
        Assert.Equal(available, buffer.Length);
    }

    [Fact]
    public void TryReadMessage_refuses_an_oversized_message_from_its_prefix_alone()
    {
        var buffer = new ReadOnlySequence<byte>(RawGrpc.Frame(0, [], declaredLength: 1025));

        var e = Assert.Throws<RpcException>(() => GrpcFraming.TryReadMessage(ref buffer, 1024, out _));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal("received message larger than max (1025 vs. 1024)", e.Detail);
    }

    [Fact]
    public void TryReadMessage_refuses_compressed_and_invalid_flags()
    {
        var compressed = new ReadOnlySequence<byte>(RawGrpc.Frame(1, [1, 2]));
        var invalid = new ReadOnlySequence<byte>(RawGrpc.Frame(7, [1, 2]));

        Assert.Equal(StatusCode.Unimplemented, Assert.Throws<RpcException>(() => GrpcFraming.TryReadMessage(ref compressed, 1024, out _)).StatusCode);
        Assert.Equal(StatusCode.Internal, Assert.Throws<RpcException>(() => GrpcFraming.TryReadMessage(ref invalid, 1024, out _)).StatusCode);
    }

    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("1500n", 15L)]
    [InlineData("99999999H", 99_999_999L * 36_000_000_000L)]
    public void Timeout_parses_every_unit(string value, long expectedTicks)
    {
        Assert.True(GrpcTimeout.TryParse(value, out var timeout));
        Assert.Equal(expectedTicks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("123456789S")]
    [InlineData("1 S")]
    public void Timeout_rejects_malformed_values(string value) => Assert.False(GrpcTimeout.TryParse(value, out _));

    [Fact]
    public void Timeout_format_uses_at_most_eight_digits_and_round_trips()
    {
        Assert.Equal("1500000u", GrpcTimeout.Format(TimeSpan.FromSeconds(1.5)));
        Assert.Equal("1000000m", GrpcTimeout.Format(TimeSpan.FromSeconds(1000)));
        Assert.Equal("1u", GrpcTimeout.Format(TimeSpan.Zero));
        foreach (var span in new[] { TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(2), TimeSpan.FromDays(3000), TimeSpan.MaxValue })
        {
            var text = GrpcTimeout.Format(span);
            Assert.True(text.Length <= 9, text);
            Assert.True(GrpcTimeout.TryParse(text, out _), text);
        }
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100% ünïcode\n", "100%25 %C3%BCn%C3%AFcode%0A")]
    [InlineData("tab\there~", "tab%09here~")]
    public void Percent_encoding_follows_the_spec_and_round_trips(string value, string encoded)
    {
        Assert.Equal(encoded, PercentEncoding.Encode(value));
        Assert.Equal(value, PercentEncoding.Decode(encoded));
    }

    [Fact]
    public void Percent_decoding_keeps_broken_escapes()
    {
        Assert.Equal("50%", PercentEncoding.Decode("50%"));
        Assert.Equal("a%zzb", PercentEncoding.Decode("a%zzb"));
    }

    [Fact]
    public void Http_status_maps_to_grpc_codes_per_spec()
    {
        Assert.Equal(StatusCode.Internal, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.BadRequest));
        Assert.Equal(StatusCode.Unauthenticated, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.Unauthorized));
        Assert.Equal(StatusCode.PermissionDenied, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.Forbidden));
        Assert.Equal(StatusCode.Unimplemented, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.NotFound));
        Assert.Equal(StatusCode.Unavailable, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.TooManyRequests));
        Assert.Equal(StatusCode.Unavailable, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.BadGateway));
        Assert.Equal(StatusCode.Unavailable, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.ServiceUnavailable));
        Assert.Equal(StatusCode.Unavailable, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.GatewayTimeout));
        Assert.Equal(StatusCode.Unknown, ClientCall<SayReply>.MapHttpStatus(System.Net.HttpStatusCode.InternalServerError));
    }

    private static ReadOnlySequence<byte> Segmented(byte[] data, int segmentSize)
    {
        if (data.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < data.Length; offset += segmentSize)
        {
            var memory = data.AsMemory(offset, Math.Min(segmentSize, data.Length - offset));
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
