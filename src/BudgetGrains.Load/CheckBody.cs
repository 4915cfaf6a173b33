using System.Buffers.Binary;
using BudgetGrains.Contracts.V1;
using Google.Protobuf;
using ManagementClient = BudgetGrains.Contracts.V1.Management.ManagementClient;

namespace BudgetGrains.Load;

/// <summary>A Check request already framed for gRPC, for tools that send the same bytes each time (h2load -d).</summary>
public static class CheckBody
{
    /// <summary>
    /// Writes a zero byte (not compressed), the length as big-endian uint32, then a CheckRequest for the 5-scope
    /// chain of <paramref name="key"/>. With <paramref name="server"/>, first creates that chain's budgets.
    /// </summary>
    public static async Task WriteAsync(string path, string key, Uri? server)
    {
        var chain = Chain.Create(key, 0);
        if (server is not null)
        {
            using var channel = LoadTest.ChannelTo(server);
            await chain.CreateBudgetsAsync(new ManagementClient(channel), Chain.GenerousLimitNanos);
        }
        var message = new CheckRequest { Attribution = chain.Attribution, EstimateNanos = LoadRun.EstimateNanos }.ToByteArray();
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        await File.WriteAllBytesAsync(path, frame);
    }
}
