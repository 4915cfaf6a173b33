using BudgetGrains.Server.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Client.Tests;

/// <summary>The SDK against a silo that requires keys: <see cref="BudgetClientOptions.ApiKey"/> is sent with every call.</summary>
public sealed class ApiKeyTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-sdk-keys-" + Guid.NewGuid().ToString("N"));
    private Silo _silo = null!;
    private string _agentKey = "";
    private readonly string _tenant = "acme-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = _dataDir };
        options.Auth.Mode = "required";
        options.Auth.AdminKeyFile = Path.Combine(_dataDir, "admin.key");
        _silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        var admin = (await File.ReadAllTextAsync(options.Auth.AdminKeyFile)).Trim();
        using var channel = GrpcChannel.ForAddress(_silo.Address);
        var created = await new V1.Management.ManagementClient(channel).CreateApiKeyAsync(
            new V1.CreateApiKeyRequest { Role = "agent", Tenant = _tenant }, new Metadata { { "authorization", "Bearer " + admin } });
        _agentKey = created.Key;
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private BudgetClient Client(string? key) => new(new BudgetClientOptions { Address = _silo.Address, ApiKey = key, MaxAttempts = 1 });

    [Fact]
    public async Task WithItsKeyAnAgentReservesAndCommitsUnderItsOwnIds()
    {
        await using var client = Client(_agentKey);

        await using var hold = await client.ReserveAsync(new Attribution { Tenant = _tenant }, 100);
        var commit = await hold.CommitAsync(80);

        Assert.True(hold.Admitted);
        Assert.Equal(hold.RequestId, hold.ReservationId);
        Assert.Equal(80, commit.ChargedNanos);
        Assert.True((await client.CheckAsync(new Attribution { Tenant = _tenant }, 1)).Admitted);
    }

    [Fact]
    public async Task WithoutAKeyOrForAnotherTenantTheSdkSaysSo()
    {
        await using var anonymous = Client(null);
        await using var agent = Client(_agentKey);

        var missing = await Assert.ThrowsAnyAsync<BudgetException>(() => anonymous.ReserveAsync(new Attribution { Tenant = _tenant }, 1));
        var foreign = await Assert.ThrowsAnyAsync<BudgetException>(() => agent.ReserveAsync(new Attribution { Tenant = _tenant + "x" }, 1));

        Assert.Equal(BudgetErrorCode.Unauthenticated, missing.Code);
        Assert.Equal(BudgetErrorCode.PermissionDenied, foreign.Code);
    }

    [Fact]
    public void AKeyWithSpacesIsRefusedAtOnce() =>
        Assert.Throws<ArgumentException>(() => new BudgetClient(new BudgetClientOptions { ApiKey = "two words" }));
}
