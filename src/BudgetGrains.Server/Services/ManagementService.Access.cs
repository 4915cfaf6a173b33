using System.Globalization;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Access;
using BudgetGrains.Server.Auth;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Services;

/// <summary>The API key and audit rpcs of budget.v1.Management (who may call them: <see cref="AccessRules"/>).</summary>
internal sealed partial class ManagementService
{
    /// <summary>The silo's keys; set by the silo when it builds the service.</summary>
    public ApiKeyRegistry Keys { get; init; } = null!;

    /// <summary>The store's audit log.</summary>
    public IAccessStore AccessStore { get; init; } = null!;

    public override async Task<V1.CreateApiKeyResponse> CreateApiKey(V1.CreateApiKeyRequest request, ServerCallContext context)
    {
        var (key, secret) = await Keys.CreateAsync(request.Role, request.Tenant, request.Name, AccessInterceptor.CallerOf(context).KeyId);
        return new V1.CreateApiKeyResponse { ApiKey = ApiKeyMapping.ToProto(key), Key = secret };
    }

    public override Task<V1.ListApiKeysResponse> ListApiKeys(V1.ListApiKeysRequest request, ServerCallContext context)
    {
        if (PageTokens.Size(request.PageSize) is not { } size) throw Invalid(PageTokens.InvalidSize);
        if (!PageTokens.TryDecode(request.PageToken, out var after)) throw Invalid(PageTokens.InvalidToken);
        var keys = Keys.List(request.IncludeRevoked, after, size + 1);
        var response = new V1.ListApiKeysResponse();
        response.ApiKeys.AddRange(keys.Take(size).Select(ApiKeyMapping.ToProto));
        if (keys.Count > size) response.NextPageToken = PageTokens.Encode(keys[size - 1].Id);
        return Task.FromResult(response);
    }

    public override async Task<V1.ApiKey> RevokeApiKey(V1.RevokeApiKeyRequest request, ServerCallContext context) =>
        ApiKeyMapping.ToProto(await Keys.RevokeAsync(request.Id, AccessInterceptor.CallerOf(context).KeyId));

    public override async Task<V1.ListAuditResponse> ListAudit(V1.ListAuditRequest request, ServerCallContext context)
    {
        if (PageTokens.Size(request.PageSize) is not { } size) throw Invalid(PageTokens.InvalidSize);
        if (!PageTokens.TryDecode(request.PageToken, out var token)) throw Invalid(PageTokens.InvalidToken);
        long before = 0;
        if (token.Length > 0 && (!long.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out before) || before <= 0))
            throw Invalid(PageTokens.InvalidToken);
        if (request.TargetPrefix.Length > Limits.MaxScopeIdLength)
            throw Invalid(Failure.Invalid($"target_prefix is {request.TargetPrefix.Length} characters; the limit is {Limits.MaxScopeIdLength}"));
        var page = await AccessStore.ListAuditAsync(request.TargetPrefix, before, size, context.CancellationToken);
        var response = new V1.ListAuditResponse
        {
            NextPageToken = page.NextBefore == 0 ? "" : PageTokens.Encode(page.NextBefore.ToString(CultureInfo.InvariantCulture)),
        };
        response.Entries.AddRange(page.Entries.Select(AuditLog.ToProto));
        return response;
    }

    private static RpcException Invalid(Failure failure) => new(new Status(StatusCode.InvalidArgument, failure.Message));
}

/// <summary>Stored keys as the API shows them: never salt, hash or secret.</summary>
internal static class ApiKeyMapping
{
    public static V1.ApiKey ToProto(StoredApiKey key) => new()
    {
        Id = key.Id, Role = key.Role, Tenant = key.Tenant, Name = key.Name, CreatedAtUnixMs = key.CreatedAtUnixMs,
        CreatedBy = key.CreatedBy, RevokedAtUnixMs = key.RevokedAtUnixMs, RevokedBy = key.RevokedBy,
    };
}
