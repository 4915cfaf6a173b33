namespace BudgetGrains.Grpc;

/// <summary>Limits applied by the gRPC middleware to every call.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>The default for both message size limits: 4 MiB, as in the reference gRPC implementations.</summary>
    public const int DefaultMaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>Largest request message accepted; a larger one is answered with RESOURCE_EXHAUSTED before it is read.</summary>
    public int MaxReceiveMessageBytes { get; init; } = DefaultMaxMessageBytes;

    /// <summary>Largest response message sent; a larger one fails the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageBytes { get; init; } = DefaultMaxMessageBytes;
}
