namespace BudgetGrains.Server.Rest;

/// <summary>
/// The REST/JSON mirror of <c>budget.v1.Management</c> under <c>/api/v1/</c>: one line per route, each bound to the
/// rpc whose gRPC handler it runs (docs/decisions/0011-rest-mirror.md). Query parameters set the request's other
/// top-level fields (<c>?page_size=50&amp;page_token=...</c>).
/// </summary>
internal static class ManagementRoutes
{
    public static readonly IReadOnlyList<RestRoute> All =
    [
        new("GET", "budgets", "ListBudgets"),
        new("GET", "budgets/{**scope}", "GetBudget"),
        new("PUT", "budgets/{**scope}", "UpsertBudget", Body: "*"),
        new("PATCH", "budgets/{**scope}", "UpsertBudget", Body: "*", MaskFromBody: "update_mask"),
        new("DELETE", "budgets/{**scope}", "DeleteBudget"),
        new("POST", "budgets/{**scope}:freeze", "FreezeBudget"),
        new("POST", "budgets/{**scope}:unfreeze", "UnfreezeBudget"),
        new("POST", "budgets/{**scope}:reset", "ResetBudget"),
        new("GET", "periods/{**scope}", "ListPeriods"),
        new("GET", "usage/{**scope}", "GetUsage"),
        new("GET", "task-policies/{**scope}", "GetTaskPolicy"),
        new("PUT", "task-policies/{**scope}", "SetTaskPolicy", Body: "policy"),
        new("POST", "tasks/{**scope}:end", "EndTask"),
        new("GET", "alerts", "ListAlerts"),
        new("POST", "alerts/{id}:ack", "AckAlert", Body: "*"),
        new("GET", "prices", "ListPrices"),
        new("POST", "prices", "ImportPrices", Body: "*"),
        new("PUT", "prices/{**price.model}", "UpsertPrice", Body: "price"),
        new("DELETE", "prices/{**model}", "DeletePrice"),
        new("GET", "tenant-settings/{tenant}", "GetTenantSettings"),
        new("PUT", "tenant-settings/{tenant}", "SetTenantSettings", Body: "*"),
        new("GET", "exports/ledger", "ExportLedger"),
        new("GET", "exports/usage", "ExportUsage"),
        new("PUT", "bills/{import_id}", "ImportBill", Body: "*"),
        new("GET", "reconciliation", "GetReconciliation"),
        new("POST", "shared-costs", "ImportSharedCosts", Body: "*"),
        new("GET", "allocation", "GetAllocation"),
        new("GET", "meters", "ListMeters"),
        new("POST", "meters", "ImportMeters", Body: "*"),
        new("PUT", "meters/{meter.name}", "UpsertMeter", Body: "meter"),
        new("DELETE", "meters/{name}", "DeleteMeter"),
        new("GET", "meter-usage/{**scope}", "GetMeterUsage"),
        new("GET", "cost-per-outcome", "GetCostPerOutcome"),
        new("POST", "jobs", "StartJob", Body: "*"),
        new("GET", "jobs", "GetJobReport"),
    ];
}
