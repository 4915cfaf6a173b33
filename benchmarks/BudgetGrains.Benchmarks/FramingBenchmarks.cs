using System.Buffers;
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using BudgetGrains.Contracts.V1;
using Google.Protobuf;

namespace BudgetGrains.Benchmarks;

/// <summary>
/// One ReserveRequest framed and unframed as gRPC does it: size, 5-byte prefix, protobuf into a pooled writer; and
/// back, prefix then parse from a sequence. The project's framing class is internal to BudgetGrains.Grpc, so these
/// are the same steps through the public protobuf API (src/BudgetGrains.Grpc/Internal/GrpcFraming.cs).
/// </summary>
[MemoryDiagnoser]
public class FramingBenchmarks
{
    private const int HeaderSize = 5;

    private readonly ArrayBufferWriter<byte> _writer = new(1024);
    private ReserveRequest _request = null!;
    private ReadOnlySequence<byte> _frame;

    [GlobalSetup]
    public void Setup()
    {
        // What the load generator sends: a 5-scope attribution, an id, an estimate, a label.
        _request = new ReserveRequest
        {
            RequestId = "lg-3f2a9c1e-17-123456",
            Attribution = new Attribution { Tenant = "acme", Feature = "support-bot", Agent = "triage" },
            EstimateNanos = 1_000_000,
        };
        _request.Attribution.Labels.Add("model", "gpt-4o");
        Encode();
        _frame = new ReadOnlySequence<byte>(_writer.WrittenMemory.ToArray());
    }

    [Benchmark]
    public int Encode()
    {
        _writer.ResetWrittenCount();
        var size = _request.CalculateSize();
        var span = _writer.GetSpan(HeaderSize + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        _request.WriteTo(span.Slice(HeaderSize, size));
        _writer.Advance(HeaderSize + size);
        return _writer.WrittenCount;
    }

    [Benchmark]
    public ReserveRequest Decode()
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        _frame.Slice(0, HeaderSize).CopyTo(header);
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        return ReserveRequest.Parser.ParseFrom(_frame.Slice(HeaderSize, length));
    }
}
