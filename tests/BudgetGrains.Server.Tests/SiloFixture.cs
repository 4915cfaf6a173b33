using BudgetGrains.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using BudgetGrains.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests;

/// <summary>One real silo per test collection: Kestrel on a free loopback port, a SQLite file in a temporary directory.</summary>
public sealed class SiloFixture : IAsyncLifetime
{
    /// <summary>A model the fixture's price catalog knows: 1,000 nanos per input token, 4,000 per output token.</summary>
    public const string PricedModel = "test-model";

    /// <summary>$0.001 per output token: 100M output tokens price above the per-call maximum.</summary>
    public const string PriceyModel = "pricey-model";

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "budgetgrains-tests-" + Guid.NewGuid().ToString("N"));
    public Silo Silo { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;
    public AdmissionClient Admission { get; private set; } = null!;
    public ManagementClient Management { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = DataDir, MaxMessageBytes = 64 * 1024 };
        options.Prices[PricedModel] = new PriceOptions { InputNanos = 1_000, OutputNanos = 4_000 };
        options.Prices[PriceyModel] = new PriceOptions { OutputNanos = 1_000_000 };
        Silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        Channel = GrpcChannel.ForAddress(Silo.Address);
        Admission = new AdmissionClient(Channel);
        Management = new ManagementClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await Silo.DisposeAsync();
        Directory.Delete(DataDir, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class SiloCollection : ICollectionFixture<SiloFixture>
{
    public const string Name = "silo";
}

/// <summary>Small builders shared by the tests; every test works on scopes of its own (unique keys).</summary>
internal static class Build
{
    public static string UniqueKey(string name) => $"{name}-{Guid.NewGuid():N}"[..Math.Min(name.Length + 33, 120)];

    public static string NewRequestId() => "req-" + Guid.NewGuid().ToString("N");

    public static ReserveRequest Reserve(Attribution attribution, long estimateNanos, string? requestId = null, long holdTtlMs = 0) => new()
    {
        RequestId = requestId ?? NewRequestId(),
        Attribution = attribution,
        EstimateNanos = estimateNanos,
        HoldTtlMs = holdTtlMs,
    };

    public static async Task SetBudgetAsync(this ManagementClient management, string scope, long limitNanos, string parent = "", bool frozen = false, params int[] thresholds)
    {
        var request = new UpsertBudgetRequest { Scope = scope, LimitNanos = limitNanos, Parent = parent, Frozen = frozen };
        request.ThresholdPercents.AddRange(thresholds);
        await management.UpsertBudgetAsync(request);
    }

    public static Task<BudgetStatus> StatusAsync(this ManagementClient management, string scope) =>
        management.GetBudgetAsync(new GetBudgetRequest { Scope = scope }).ResponseAsync;

    /// <summary>Polls until <paramref name="condition"/> holds or the time is up; returns whether it held.</summary>
    public static Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within) => Eventually.HoldsAsync(condition, within);
}

/// <summary>A five-scope chain: agent → team → cost_center, feature → team, and a tenant.</summary>
internal sealed record Chain(string Agent, string Feature, string Team, string CostCenter, string Tenant)
{
    public static Chain Unique(string name)
    {
        var key = Build.UniqueKey(name);
        return new Chain(key, key, key, key, key);
    }

    public Attribution Attribution => new() { Agent = Agent, Feature = Feature, Tenant = Tenant };

    public string AgentScope => "agent/" + Agent;
    public string FeatureScope => "feature/" + Feature;
    public string TeamScope => "team/" + Team;
    public string CostCenterScope => "cost_center/" + CostCenter;
    public string TenantScope => "tenant/" + Tenant;

    public IReadOnlyList<string> Scopes => [AgentScope, FeatureScope, TeamScope, CostCenterScope, TenantScope];

    /// <summary>Creates the five budgets with their parent links; <paramref name="limits"/> by scope, others get <paramref name="generous"/>.</summary>
    public async Task CreateAsync(ManagementClient management, long generous, IReadOnlyDictionary<string, long>? limits = null)
    {
        long Limit(string scope) => limits is not null && limits.TryGetValue(scope, out var l) ? l : generous;
        await management.SetBudgetAsync(CostCenterScope, Limit(CostCenterScope));
        await management.SetBudgetAsync(TeamScope, Limit(TeamScope), parent: CostCenterScope);
        await management.SetBudgetAsync(FeatureScope, Limit(FeatureScope), parent: TeamScope);
        await management.SetBudgetAsync(AgentScope, Limit(AgentScope), parent: TeamScope);
        await management.SetBudgetAsync(TenantScope, Limit(TenantScope));
    }
}
