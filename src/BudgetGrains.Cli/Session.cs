using BudgetGrains.Client.Protocol;
using BudgetGrains.Grpc;

namespace BudgetGrains.Cli;

/// <summary>One command's connection to the silo and its output.</summary>
internal sealed class Session : IDisposable
{
    /// <summary>Every call gets a deadline, so a stuck silo ends the command instead of hanging the terminal.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly GrpcChannel _channel;

    public Session(Uri server, Output output)
    {
        _channel = GrpcChannel.ForAddress(server);
        Admission = new AdmissionClient(_channel);
        Management = new ManagementClient(_channel);
        Alerts = new AlertsClient(_channel);
        Output = output;
    }

    public Output Output { get; }

    public AdmissionClient Admission { get; }

    public ManagementClient Management { get; }

    public AlertsClient Alerts { get; }

    public CallOptions Call(CancellationToken cancellationToken) =>
        new(Deadline: DateTimeOffset.UtcNow + CallTimeout, CancellationToken: cancellationToken);

    public void Dispose() => _channel.Dispose();
}
