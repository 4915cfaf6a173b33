namespace BudgetGrains.Server.Rest;

/// <summary>The REST mirror of the API key and audit rpcs of <c>budget.v1.Management</c> (docs/rest-api.md, "Keys and audit").</summary>
internal static class AccessRoutes
{
    public static readonly IReadOnlyList<RestRoute> All =
    [
        new("GET", "keys", "ListApiKeys"),
        new("POST", "keys", "CreateApiKey", Body: "*"),
        new("DELETE", "keys/{id}", "RevokeApiKey"),
        new("GET", "audit", "ListAudit"),
    ];
}
