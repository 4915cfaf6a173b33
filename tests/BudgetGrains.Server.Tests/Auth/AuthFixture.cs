using System.Net;
using System.Net.Http.Headers;
using System.Text;
using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests.Auth;

/// <summary>
/// One real silo with auth required (bootstrap admin key from a key file it creates), and keys of every role made
/// through the API: agents and a viewer of tenant A, an agent of tenant B, a viewer of every tenant.
/// </summary>
public sealed class AuthFixture : IAsyncLifetime
{
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "budgetgrains-auth-" + Guid.NewGuid().ToString("N"));
    public string TenantA { get; } = Build.UniqueKey("acme");
    public string TenantB { get; } = Build.UniqueKey("globex");
    public Silo Silo { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;
    public AdmissionClient Admission { get; private set; } = null!;
    public ManagementClient Management { get; private set; } = null!;
    public AlertsClient Alerts { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string AdminKeyFile => Path.Combine(DataDir, "admin.key");
    public string AdminKey { get; private set; } = "";
    public string AgentA { get; private set; } = "";
    public string AgentB { get; private set; } = "";
    public string ViewerA { get; private set; } = "";
    public string Viewer { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var options = new SiloOptions { Listen = "127.0.0.1:0", DataDir = DataDir };
        options.Auth.Mode = "required";
        options.Auth.AdminKeyFile = AdminKeyFile;
        options.Auth.MaxFailuresPerMinute = 1_000_000; // the rate limit has its own silo (FailedAuthLimitTests)
        Silo = await Silo.StartAsync(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        Channel = GrpcChannel.ForAddress(Silo.Address);
        (Admission, Management, Alerts) = (new AdmissionClient(Channel), new ManagementClient(Channel), new AlertsClient(Channel));
        Http = new HttpClient { BaseAddress = Silo.HttpAddress };
        AdminKey = (await File.ReadAllTextAsync(AdminKeyFile)).Trim();
        AgentA = await CreateKeyAsync("agent", TenantA);
        AgentB = await CreateKeyAsync("agent", TenantB);
        ViewerA = await CreateKeyAsync("viewer", TenantA);
        Viewer = await CreateKeyAsync("viewer", "");
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        await Silo.DisposeAsync();
        Directory.Delete(DataDir, recursive: true);
    }

    public async Task<string> CreateKeyAsync(string role, string tenant, string name = "") =>
        (await Management.CreateApiKeyAsync(new CreateApiKeyRequest { Role = role, Tenant = tenant, Name = name }, As(AdminKey))).Key;

    /// <summary>Call options carrying <paramref name="key"/> (none when null).</summary>
    public static CallOptions As(string? key, TimeSpan? timeout = null) => new(
        headers: key is null ? null : new Metadata { { "authorization", "Bearer " + key } },
        deadline: DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20)));

    /// <summary>Every rpc of the budget.v1 services, from their descriptors.</summary>
    public static IReadOnlyList<MethodDescriptor> AllRpcs =>
        [.. new[] { Contracts.V1.Admission.Descriptor, Contracts.V1.Management.Descriptor, Contracts.V1.Alerts.Descriptor }.SelectMany(s => s.Methods)];

    /// <summary>Calls any rpc with a raw protobuf body; the status it ended with (OK or DEADLINE_EXCEEDED for a stream
    /// that stayed open, which got past authentication).</summary>
    public async Task<StatusCode> CallRawAsync(MethodDescriptor rpc, string? key, IMessage? request = null)
    {
        var body = request?.ToByteArray() ?? [];
        var invoker = Channel.CreateCallInvoker();
        var marshaller = Marshallers.Create(b => b, b => b);
        try
        {
            if (rpc.IsServerStreaming)
            {
                var method = new Method<byte[], byte[]>(MethodType.ServerStreaming, rpc.Service.FullName, rpc.Name, marshaller, marshaller);
                using var call = invoker.AsyncServerStreamingCall(method, null, As(key, TimeSpan.FromSeconds(2)), body);
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                }
            }
            else
            {
                var method = new Method<byte[], byte[]>(MethodType.Unary, rpc.Service.FullName, rpc.Name, marshaller, marshaller);
                await invoker.AsyncUnaryCall(method, null, As(key), body);
            }
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    /// <summary>A REST call with <paramref name="key"/> (none when null).</summary>
    public async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> RestAsync(HttpMethod method, string path, string? key, string? json = null)
    {
        using var request = new HttpRequestMessage(method, "api/v1/" + path);
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }
}

[CollectionDefinition(Name)]
public sealed class AuthCollection : ICollectionFixture<AuthFixture>
{
    public const string Name = "auth";
}
