using BudgetGrains.Grains.Access;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Server.Services;
using Google.Protobuf;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Auth;

/// <summary>
/// Writes every management change to the audit log (docs/decisions/0020-audit-log.md): the key, the rpc, its target,
/// the request, the state before (read just before the change), the answer after, the client address and the time.
/// Changes are made one at a time on a silo, so nothing else changes between "before" and the change; the entry is
/// durable before the caller gets its answer.
/// </summary>
internal sealed class AuditLog(JournalService journal, TimeProvider clock, ManagementService management, ApiKeyRegistry keys)
{
    /// <summary>Longest request, before or after JSON kept in an entry; longer ones are cut and marked so.</summary>
    public const int MaxJsonLength = 64 * 1024;

    private const string Truncated = "…(truncated)";

    private static readonly StateKey JournalKey = new("audit", "log");
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private readonly SemaphoreSlim _changes = new(1, 1);

    public async Task<TResponse> RecordAsync<TRequest, TResponse>(Caller caller, TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> change) where TRequest : class where TResponse : class
    {
        var rpc = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        await _changes.WaitAsync(context.CancellationToken);
        try
        {
            var before = await BeforeAsync(request, context);
            var response = await change(request, context);
            var entry = new AuditEntry(0, clock.GetUtcNow().ToUnixTimeMilliseconds(), caller.KeyId, rpc, Target(request, response),
                Json(request as IMessage), Json(before), Json(Redacted(response as IMessage)), PeerOf(context));
            try
            {
                await journal.AppendAsync(new JournalWrite(JournalKey, null, [new AuditRecorded(entry)]));
            }
            catch (StorageUnavailableException e)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"{rpc} was made but its audit entry could not be written: {e.Message}"));
            }
            return response;
        }
        finally
        {
            _changes.Release();
        }
    }

    public static V1.AuditEntry ToProto(AuditEntry e) => new()
    {
        Sequence = e.Sequence, AtUnixMs = e.AtUnixMs, KeyId = e.KeyId, Rpc = e.Rpc, Target = e.Target,
        RequestJson = e.RequestJson, BeforeJson = e.BeforeJson, AfterJson = e.AfterJson, Peer = e.Peer,
    };

    private static string Target(object request, object response) => request switch
    {
        V1.UpsertBudgetRequest r => r.Scope,
        V1.SetTaskPolicyRequest r => r.Scope,
        V1.EndTaskRequest r => r.Scope,
        V1.DeleteBudgetRequest r => r.Scope,
        V1.FreezeBudgetRequest r => r.Scope,
        V1.ResetBudgetRequest r => r.Scope,
        V1.AckAlertRequest r => r.Id,
        V1.UpsertPriceRequest r => r.Price?.Model ?? "",
        V1.DeletePriceRequest r => r.Model,
        V1.UpsertMeterRequest r => "meters/" + (r.Meter?.Name ?? ""),
        V1.DeleteMeterRequest r => "meters/" + r.Name,
        V1.RevokeApiKeyRequest r => r.Id,
        V1.SetTenantSettingsRequest r => ScopeIds.Of(ScopeIds.Tenant, r.Tenant),
        V1.ImportBillRequest r => "bills/" + r.ImportId,
        // The first pool names the change; the request JSON in the entry lists them all.
        V1.ImportSharedCostsRequest r => r.Costs.Count == 0 ? "shared-costs" : "shared-costs/" + r.Costs[0].Pool + (r.Costs.Count > 1 ? $" and {r.Costs.Count - 1} more" : ""),
        V1.StartJobRequest r => ScopeIds.OfTask(r.Tenant, r.Job),
        V1.CreateApiKeyRequest => (response as V1.CreateApiKeyResponse)?.ApiKey?.Id ?? "",
        _ => "",
    };

    /// <summary>The state the change is about, as it is now; null when there is none or it cannot be read (the change
    /// itself then says what is wrong with the request).</summary>
    private async Task<IMessage?> BeforeAsync(object request, ServerCallContext context)
    {
        try
        {
            return request switch
            {
                V1.UpsertBudgetRequest r => await BudgetAsync(r.Scope),
                V1.EndTaskRequest r => await BudgetAsync(r.Scope),
                V1.StartJobRequest r => await BudgetAsync(ScopeIds.OfTask(r.Tenant, r.Job)),
                V1.DeleteBudgetRequest r => await BudgetAsync(r.Scope),
                V1.FreezeBudgetRequest r => await BudgetAsync(r.Scope),
                V1.ResetBudgetRequest r => await BudgetAsync(r.Scope),
                V1.SetTaskPolicyRequest r => await management.GetTaskPolicy(new V1.GetTaskPolicyRequest { Scope = r.Scope }, context),
                V1.UpsertPriceRequest r => await PricesAsync([r.Price?.Model ?? ""]),
                V1.DeletePriceRequest r => await PricesAsync([r.Model]),
                V1.ImportPricesRequest r => await PricesAsync([.. r.Prices.Select(p => p.Model)]),
                V1.UpsertMeterRequest r => await MetersAsync([r.Meter?.Name ?? ""]),
                V1.DeleteMeterRequest r => await MetersAsync([r.Name]),
                V1.ImportMetersRequest r => await MetersAsync([.. r.Meters.Select(m => m.Name)]),
                V1.RevokeApiKeyRequest r => keys.Find(r.Id) is { } key ? ApiKeyMapping.ToProto(key) : null,
                V1.SetTenantSettingsRequest r => await management.GetTenantSettings(new V1.GetTenantSettingsRequest { Tenant = r.Tenant }, context),
                _ => null,
            };
        }
        catch (RpcException)
        {
            return null;
        }

        Task<V1.BudgetStatus> BudgetAsync(string scope) => management.GetBudget(new V1.GetBudgetRequest { Scope = scope }, context);

        async Task<IMessage?> PricesAsync(IReadOnlyCollection<string> models)
        {
            var wanted = models.ToHashSet(StringComparer.Ordinal);
            var found = new V1.ListPricesResponse();
            var page = new V1.ListPricesRequest { ModelPrefix = models.Count == 1 ? models.First() : "", PageSize = Grains.Limits.MaxPageSize };
            do
            {
                var answer = await management.ListPrices(page, context);
                found.Prices.AddRange(answer.Prices.Where(p => wanted.Contains(p.Model)));
                page.PageToken = answer.NextPageToken;
            }
            while (page.PageToken.Length > 0);
            return found.Prices.Count == 0 ? null : found;
        }

        async Task<IMessage?> MetersAsync(IReadOnlyCollection<string> names)
        {
            var wanted = names.ToHashSet(StringComparer.Ordinal);
            var found = new V1.ListMetersResponse();
            var page = new V1.ListMetersRequest { NamePrefix = names.Count == 1 ? names.First() : "", PageSize = Grains.Limits.MaxPageSize };
            do
            {
                var answer = await management.ListMeters(page, context);
                found.Meters.AddRange(answer.Meters.Where(m => wanted.Contains(m.Name)));
                page.PageToken = answer.NextPageToken;
            }
            while (page.PageToken.Length > 0);
            return found.Meters.Count == 0 ? null : found;
        }
    }

    /// <summary>A created key's secret is never written anywhere.</summary>
    private static IMessage? Redacted(IMessage? response)
    {
        if (response is not V1.CreateApiKeyResponse created) return response;
        var copy = created.Clone();
        copy.Key = "";
        return copy;
    }

    private static string Json(IMessage? message)
    {
        if (message is null) return "";
        var json = Formatter.Format(message);
        return json.Length <= MaxJsonLength ? json : json[..(MaxJsonLength - Truncated.Length)] + Truncated;
    }

    internal static string PeerOf(ServerCallContext context) =>
        context.GetHttpContext().Connection.RemoteIpAddress?.ToString() ?? context.Peer;
}
