namespace BudgetGrains.Grpc;

/// <summary>Options of a <see cref="GrpcChannel"/>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted; a larger one fails the call with RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxReceiveMessageBytes { get; init; } = GrpcServerOptions.DefaultMaxMessageBytes;

    /// <summary>Largest request message sent; a larger one fails the call with RESOURCE_EXHAUSTED before sending. Default 4 MiB.</summary>
    public int MaxSendMessageBytes { get; init; } = GrpcServerOptions.DefaultMaxMessageBytes;

    /// <summary>
    /// The handler to send requests through (e.g. one with custom TLS validation). When null the channel creates a
    /// <see cref="System.Net.Http.SocketsHttpHandler"/> with multiple HTTP/2 connections enabled. A handler given here
    /// is not disposed by the channel.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; init; }
}
