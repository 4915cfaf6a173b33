using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Auth;

/// <summary>What an rpc needs from its caller.</summary>
internal enum AccessKind
{
    /// <summary>No key: grpc.health.v1.Health and server reflection (they say nothing about budgets).</summary>
    Open,

    /// <summary>The data plane: admin keys, and agent keys for their tenant (ids scoped to it).</summary>
    Admission,

    /// <summary>Read-only Management and alerts: admin keys, and viewer keys (a tenant's viewer sees its scopes only).</summary>
    Read,

    /// <summary>Reads only an admin may make (API keys, the audit log).</summary>
    AdminRead,

    /// <summary>A management change: admin keys only, and written to the audit log.</summary>
    Change,
}

/// <summary>
/// The one table of who may call what (docs/decisions/0018): every rpc of budget.v1 by its full method name. An rpc not
/// in the table is refused for everyone (PERMISSION_DENIED), and the tests enumerate the service descriptors so that a
/// new rpc without a rule fails them.
/// </summary>
internal static class AccessRules
{
    private static readonly string[] OpenServices = ["grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"];

    public static readonly IReadOnlyDictionary<string, AccessKind> ByMethod = new Dictionary<string, AccessKind>(StringComparer.Ordinal)
    {
        [Admission("Reserve")] = AccessKind.Admission,
        [Admission("Commit")] = AccessKind.Admission,
        [Admission("Release")] = AccessKind.Admission,
        [Admission("Check")] = AccessKind.Admission,
        [Admission("WatchBudgets")] = AccessKind.Admission,

        [Management("GetBudget")] = AccessKind.Read,
        [Management("ListBudgets")] = AccessKind.Read,
        [Management("GetTaskPolicy")] = AccessKind.Read,
        [Management("ListPeriods")] = AccessKind.Read,
        [Management("GetUsage")] = AccessKind.Read,
        [Management("ListAlerts")] = AccessKind.Read,
        [Management("ListPrices")] = AccessKind.Read,
        [Management("GetTenantSettings")] = AccessKind.Read,
        [Management("ListMeters")] = AccessKind.Read,
        [Management("GetMeterUsage")] = AccessKind.Read,
        [Management("ListApiKeys")] = AccessKind.AdminRead,
        [Management("ListAudit")] = AccessKind.AdminRead,
        // Exports, reconciliations and allocations span every tenant: a viewer key of one tenant is refused them (TenantView.CheckAsync).
        [Management("ExportLedger")] = AccessKind.Read,
        [Management("ExportUsage")] = AccessKind.Read,
        [Management("GetReconciliation")] = AccessKind.Read,
        [Management("ImportBill")] = AccessKind.Change,
        [Management("GetAllocation")] = AccessKind.Read,
        [Management("ImportSharedCosts")] = AccessKind.Change,
        // A tenant's viewer may read its own tenant's tasks (TenantView.CheckAsync: the request must name the tenant).
        [Management("GetCostPerOutcome")] = AccessKind.Read,
        [Management("GetJobReport")] = AccessKind.Read,
        [Management("StartJob")] = AccessKind.Change,

        [Management("UpsertBudget")] = AccessKind.Change,
        [Management("SetTaskPolicy")] = AccessKind.Change,
        [Management("EndTask")] = AccessKind.Change,
        [Management("DeleteBudget")] = AccessKind.Change,
        [Management("FreezeBudget")] = AccessKind.Change,
        [Management("UnfreezeBudget")] = AccessKind.Change,
        [Management("ResetBudget")] = AccessKind.Change,
        [Management("AckAlert")] = AccessKind.Change,
        [Management("UpsertPrice")] = AccessKind.Change,
        [Management("DeletePrice")] = AccessKind.Change,
        [Management("ImportPrices")] = AccessKind.Change,
        [Management("CreateApiKey")] = AccessKind.Change,
        [Management("RevokeApiKey")] = AccessKind.Change,
        [Management("SetTenantSettings")] = AccessKind.Change,
        [Management("UpsertMeter")] = AccessKind.Change,
        [Management("DeleteMeter")] = AccessKind.Change,
        [Management("ImportMeters")] = AccessKind.Change,

        [Method(V1.Alerts.Descriptor.FullName, "WatchAlerts")] = AccessKind.Read,
    };

    /// <summary>The rule of a method ("/budget.v1.Admission/Reserve"); null when it has none.</summary>
    public static AccessKind? For(string method)
    {
        if (ByMethod.TryGetValue(method, out var kind)) return kind;
        foreach (var service in OpenServices)
            if (method.StartsWith("/" + service + "/", StringComparison.Ordinal)) return AccessKind.Open;
        return null;
    }

    /// <summary>Whether a role may make calls of this kind at all (tenant rules come after).</summary>
    public static bool Allows(AccessKind kind, string role) => kind switch
    {
        AccessKind.Open => true,
        AccessKind.Admission => role is ApiKeyRoles.Admin or ApiKeyRoles.Agent,
        AccessKind.Read => role is ApiKeyRoles.Admin or ApiKeyRoles.Viewer,
        _ => role == ApiKeyRoles.Admin,
    };

    public static string Needs(AccessKind kind) => kind switch
    {
        AccessKind.Admission => "an admin or agent key",
        AccessKind.Read => "an admin or viewer key",
        _ => "an admin key",
    };

    public static string Method(string service, string rpc) => $"/{service}/{rpc}";

    private static string Admission(string rpc) => Method(V1.Admission.Descriptor.FullName, rpc);

    private static string Management(string rpc) => Method(V1.Management.Descriptor.FullName, rpc);
}
