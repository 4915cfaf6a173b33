using Grpc.Core;
using Grpc.Net.Client;
using V1 = BudgetGrains.Contracts.V1;

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
        Admission = new V1.Admission.AdmissionClient(_channel);
        Management = new V1.Management.ManagementClient(_channel);
        Alerts = new V1.Alerts.AlertsClient(_channel);
        Output = output;
    }

    public Output Output { get; }

    public V1.Admission.AdmissionClient Admission { get; }

    public V1.Management.ManagementClient Management { get; }

    public V1.Alerts.AlertsClient Alerts { get; }

    public CallOptions Call(CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellationToken);

    public void Dispose() => _channel.Dispose();
}
