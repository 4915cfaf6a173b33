using System.Text;
using BudgetGrains.Contracts.V1;
using Grpc.Core;
using static BudgetGrains.Server.Tests.Auth.AuthFixture;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>A key's life on a silo of its own: created (secret once), used, listed without secret, durable across a
/// restart, stored only as a salted hash, revoked (UNAUTHENTICATED at once), and each change in the audit log.</summary>
public sealed class KeyLifecycleTests
{
    private static async Task<OwnSilo> StartAsync()
    {
        var options = OwnSilo.NewOptions("keys");
        options.Auth.Mode = "required";
        options.Auth.AdminKeyFile = Path.Combine(options.DataDir, "admin.key");
        return await OwnSilo.StartAsync(options);
    }

    [Fact]
    public async Task CreateUseListRestartRevoke()
    {
        await using var silo = await StartAsync();
        var admin = (await File.ReadAllTextAsync(silo.Options.Auth.AdminKeyFile!)).Trim();
        var tenant = Build.UniqueKey("acme");

        var created = await silo.Management.CreateApiKeyAsync(new CreateApiKeyRequest { Role = "agent", Tenant = tenant, Name = "search-prod" }, As(admin));
        var secret = created.Key;
        Assert.StartsWith("bgk_" + created.ApiKey.Id + "_", secret, StringComparison.Ordinal);
        Assert.Equal(("agent", tenant, "search-prod", "bootstrap"), (created.ApiKey.Role, created.ApiKey.Tenant, created.ApiKey.Name, created.ApiKey.CreatedBy));

        var reserve = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant }, 10), As(secret));
        Assert.Equal(Decision.Admitted, reserve.Decision);

        var listed = await silo.Management.ListApiKeysAsync(new ListApiKeysRequest(), As(admin));
        Assert.Contains(listed.ApiKeys, k => k.Id == created.ApiKey.Id);
        Assert.DoesNotContain(secret[(secret.LastIndexOf('_') + 1)..], listed.ToString(), StringComparison.Ordinal);

        // Durable: after a restart the same secret still works.
        await silo.RestartAsync();
        var again = await silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant }, 10), As(secret));
        Assert.Equal(Decision.Admitted, again.Decision);

        var revoked = await silo.Management.RevokeApiKeyAsync(new RevokeApiKeyRequest { Id = created.ApiKey.Id }, As(admin));
        Assert.NotEqual(0, revoked.RevokedAtUnixMs);
        var refused = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant }, 10), As(secret)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal(revoked.RevokedAtUnixMs, (await silo.Management.RevokeApiKeyAsync(new RevokeApiKeyRequest { Id = created.ApiKey.Id }, As(admin))).RevokedAtUnixMs);
        Assert.DoesNotContain((await silo.Management.ListApiKeysAsync(new ListApiKeysRequest(), As(admin))).ApiKeys, k => k.Id == created.ApiKey.Id);
        Assert.Contains((await silo.Management.ListApiKeysAsync(new ListApiKeysRequest { IncludeRevoked = true }, As(admin))).ApiKeys, k => k.Id == created.ApiKey.Id);

        await silo.RestartAsync();
        var stillRefused = await Assert.ThrowsAsync<RpcException>(() => silo.Admission.ReserveAsync(Build.Reserve(new Attribution { Tenant = tenant }, 10), As(secret)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, stillRefused.StatusCode);

        // Audit: both changes, by the bootstrap key, and no secret anywhere in them.
        var audit = await silo.Management.ListAuditAsync(new ListAuditRequest { TargetPrefix = created.ApiKey.Id }, As(admin));
        Assert.Equal(["RevokeApiKey", "RevokeApiKey", "CreateApiKey"], audit.Entries.Select(e => e.Rpc));
        Assert.All(audit.Entries, e => Assert.Equal("bootstrap", e.KeyId));
        Assert.Contains("\"revokedAtUnixMs\": \"0\"", audit.Entries[1].BeforeJson, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, audit.ToString(), StringComparison.Ordinal);

        // Stored only as a salted hash: the secret is nowhere in the store's files.
        await silo.StopAsync();
        var random = Encoding.ASCII.GetBytes(secret[(secret.LastIndexOf('_') + 1)..]);
        foreach (var file in Directory.GetFiles(silo.Options.DataDir, "budgetgrains.db*"))
            Assert.True((await File.ReadAllBytesAsync(file)).AsSpan().IndexOf(random) < 0, $"{file} holds the secret");
    }

    [Fact]
    public async Task BadKeyRequestsAreRefusedAndChangeNothing()
    {
        await using var silo = await StartAsync();
        var admin = (await File.ReadAllTextAsync(silo.Options.Auth.AdminKeyFile!)).Trim();
        var bad = new[]
        {
            new CreateApiKeyRequest { Role = "root" },
            new CreateApiKeyRequest { Role = "agent" },
            new CreateApiKeyRequest { Role = "admin", Tenant = "acme" },
            new CreateApiKeyRequest { Role = "viewer", Tenant = "bad tenant" },
            new CreateApiKeyRequest { Role = "viewer", Name = new string('n', 129) },
        };
        foreach (var request in bad)
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => silo.Management.CreateApiKeyAsync(request, As(admin)).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        }
        var missing = await Assert.ThrowsAsync<RpcException>(() => silo.Management.RevokeApiKeyAsync(new RevokeApiKeyRequest { Id = "nope" }, As(admin)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        Assert.Empty((await silo.Management.ListApiKeysAsync(new ListApiKeysRequest { IncludeRevoked = true }, As(admin))).ApiKeys);
        Assert.Empty((await silo.Management.ListAuditAsync(new ListAuditRequest(), As(admin))).Entries);
    }
}
