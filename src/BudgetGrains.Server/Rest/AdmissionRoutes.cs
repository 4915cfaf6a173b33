namespace BudgetGrains.Server.Rest;

/// <summary>
/// REST admission under <c>/api/v1/</c>, for gateways that speak only HTTP/JSON: the body is the proto3 JSON of the
/// rpc's request, the answer that of its response (docs/rest-api.md).
/// </summary>
internal static class AdmissionRoutes
{
    public static readonly IReadOnlyList<RestRoute> All =
    [
        new("POST", "reserve", "Reserve", Body: "*"),
        new("POST", "commit", "Commit", Body: "*"),
        new("POST", "release", "Release", Body: "*"),
        new("POST", "check", "Check", Body: "*"),
    ];
}
