using System.Globalization;
using System.Runtime.CompilerServices;
using BudgetGrains.Contracts.V1;
using Grpc.Core;

namespace BudgetGrains.Server.Tests;

/// <summary>The generated clients' calls in the shapes the tests read best: answers with their status mark, streams as async sequences.</summary>
internal static class GrpcCalls
{
    public static Task<(ReserveResponse Response, long StatusMark)> ReserveWithStatusMarkAsync(this AdmissionClient admission, ReserveRequest request,
        CallOptions options = default) => WithStatusMarkAsync(admission.ReserveAsync(request, options));

    public static Task<(CommitResponse Response, long StatusMark)> CommitWithStatusMarkAsync(this AdmissionClient admission, CommitRequest request,
        CallOptions options = default) => WithStatusMarkAsync(admission.CommitAsync(request, options));

    /// <summary>The stream until it ends or <paramref name="options"/>' token is cancelled; leaving the enumeration ends the call.</summary>
    public static IAsyncEnumerable<BudgetWatchUpdate> WatchBudgetsAsync(this AdmissionClient admission, WatchBudgetsRequest request,
        CallOptions options = default) => ReadAllAsync(admission.WatchBudgets(request, options));

    /// <inheritdoc cref="WatchBudgetsAsync"/>
    public static IAsyncEnumerable<Alert> WatchAlertsAsync(this AlertsClient alerts, WatchAlertsRequest request, CallOptions options = default) =>
        ReadAllAsync(alerts.WatchAlerts(request, options));

    private static async Task<(T, long)> WithStatusMarkAsync<T>(AsyncUnaryCall<T> call)
    {
        using (call)
        {
            var response = await call.ResponseAsync;
            var mark = call.GetTrailers().GetValue("budget-status-mark");
            return (response, mark is null ? 0 : long.Parse(mark, CultureInfo.InvariantCulture));
        }
    }

    private static async IAsyncEnumerable<T> ReadAllAsync<T>(AsyncServerStreamingCall<T> call, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using (call)
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken)) yield return message;
        }
    }
}
