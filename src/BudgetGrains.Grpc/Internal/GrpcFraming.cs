using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace BudgetGrains.Grpc.Internal;

/// <summary>
/// The Length-Prefixed-Message framing: a 1-byte compressed flag, a 4-byte big-endian length, then the message.
/// </summary>
internal static class GrpcFraming
{
    /// <summary>Size of the prefix before every message.</summary>
    public const int HeaderSize = 5;

    private const byte UncompressedFlag = 0;
    private const byte CompressedFlag = 1;

    /// <summary>Writes the prefix of an uncompressed message of <paramref name="length"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, int length)
    {
        destination[0] = UncompressedFlag;
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(1), (uint)length);
    }

    /// <summary>Writes <paramref name="message"/> (of the already computed <paramref name="size"/>) with its prefix.</summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message, int size)
    {
        var span = writer.GetSpan(HeaderSize + size);
        WriteHeader(span, size);
        message.WriteTo(span.Slice(HeaderSize, size));
        writer.Advance(HeaderSize + size);
    }

    /// <summary>
    /// Tries to take one complete message off the front of <paramref name="buffer"/>.
    /// Validates the prefix as soon as it is available, so that an oversized message is refused before its body arrives.
    /// </summary>
    /// <returns>True with <paramref name="message"/> set and <paramref name="buffer"/> advanced past it; false when more data is needed.</returns>
    /// <exception cref="RpcException">UNIMPLEMENTED for a compressed message, INTERNAL for an invalid flag, RESOURCE_EXHAUSTED for an oversized message.</exception>
    public static bool TryReadMessage(ref ReadOnlySequence<byte> buffer, int maxMessageBytes, out ReadOnlySequence<byte> message)
    {
        if (buffer.Length < HeaderSize)
        {
            message = default;
            return false;
        }

        var length = ReadHeader(buffer, maxMessageBytes);
        if (buffer.Length - HeaderSize < length)
        {
            message = default;
            return false;
        }

        message = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(message.End);
        return true;
    }

    /// <summary>Validates the 5-byte prefix at the start of <paramref name="buffer"/> and returns the message length.</summary>
    public static int ReadHeader(in ReadOnlySequence<byte> buffer, int maxMessageBytes)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        var first = buffer.FirstSpan;
        if (first.Length >= HeaderSize)
        {
            first.Slice(0, HeaderSize).CopyTo(header);
        }
        else
        {
            buffer.Slice(0, HeaderSize).CopyTo(header);
        }

        return ReadHeader(header, maxMessageBytes);
    }

    /// <summary>Validates a 5-byte prefix and returns the message length.</summary>
    public static int ReadHeader(ReadOnlySpan<byte> header, int maxMessageBytes)
    {
        switch (header[0])
        {
            case UncompressedFlag:
                break;
            case CompressedFlag:
                // We advertise grpc-accept-encoding: identity only, so a compliant peer never compresses.
                throw new RpcException(StatusCode.Unimplemented, "compressed messages are not supported; only the identity encoding is accepted");
            default:
                throw new RpcException(StatusCode.Internal, $"invalid compressed flag {header[0]} in message prefix");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header.Slice(1));
        if (length > (uint)maxMessageBytes)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"received message larger than max ({length} vs. {maxMessageBytes})");
        }

        return (int)length;
    }
}
