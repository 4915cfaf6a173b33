using BudgetGrains.Contracts.V1;
using BudgetGrains.Server.Hosting;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BudgetGrains.Server.Tests;

/// <summary>What every silo serves besides budget.v1: grpc.health.v1.Health, server reflection, the message size limits.</summary>
[Collection(SiloCollection.Name)]
public sealed class StandardServicesTests(SiloFixture silo)
{
    [Theory]
    [InlineData("")]
    [InlineData("budget.v1.Admission")]
    [InlineData("budget.v1.Management")]
    [InlineData("budget.v1.Alerts")]
    public async Task HealthIsServingOnceTheSiloIsReady(string service)
    {
        var health = new Health.HealthClient(silo.Channel);

        var answer = await health.CheckAsync(new HealthCheckRequest { Service = service });

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, answer.Status);
    }

    [Fact]
    public async Task HealthDoesNotKnowOtherServices()
    {
        var health = new Health.HealthClient(silo.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = "budget.v1.Nope" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task ReadinessIsUnhealthyUntilReadyAndAgainFromStopping()
    {
        var readiness = new SiloReadiness();
        var context = new HealthCheckContext();

        var starting = await readiness.CheckHealthAsync(context);
        readiness.Ready();
        var ready = await readiness.CheckHealthAsync(context);
        readiness.Stopping();
        var stopping = await readiness.CheckHealthAsync(context);

        Assert.Equal((HealthStatus.Unhealthy, HealthStatus.Healthy, HealthStatus.Unhealthy), (starting.Status, ready.Status, stopping.Status));
    }

    [Fact]
    public async Task ReflectionListsTheBudgetServicesAndHealth()
    {
        var reflection = new ServerReflection.ServerReflectionClient(silo.Channel);
        using var call = reflection.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Subset(services.ToHashSet(), new HashSet<string> { "budget.v1.Admission", "budget.v1.Management", "budget.v1.Alerts", "grpc.health.v1.Health" });
    }

    [Fact]
    public async Task ReflectionDescribesTheAdmissionService()
    {
        var reflection = new ServerReflection.ServerReflectionClient(silo.Channel);
        using var call = reflection.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "budget.v1.Admission" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.NotEmpty(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto);
    }

    [Fact]
    public async Task AResponseOverTheMessageSizeLimitIsResourceExhausted()
    {
        // The default price list is several KiB as one ListPrices page; a request of a few bytes is well under 1 KiB.
        var options = OwnSilo.NewOptions("send-limit");
        options.MaxMessageBytes = 1024;
        await using var small = await OwnSilo.StartAsync(options);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await small.Management.ListPricesAsync(new ListPricesRequest { PageSize = 100 }));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }
}
