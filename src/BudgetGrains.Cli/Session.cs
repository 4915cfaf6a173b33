using BudgetGrains.Client;
using BudgetGrains.Grpc;

namespace BudgetGrains.Cli;

/// <summary>One command's connection to the silo and its output.</summary>
internal sealed class Session(Uri server, Output output) : IDisposable
{
    /// <summary>Every call gets a deadline, so a stuck silo ends the command instead of hanging the terminal.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(server);

    public Output Output { get; } = output;

    public AdmissionClient Admission => new(_channel);

    public ManagementClient Management => new(_channel);

    public CallOptions Call(CancellationToken cancellationToken) =>
        new(Deadline: DateTimeOffset.UtcNow + CallTimeout, CancellationToken: cancellationToken);

    public void Dispose() => _channel.Dispose();
}
