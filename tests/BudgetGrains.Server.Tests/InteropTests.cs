using System.Text.Json;

namespace BudgetGrains.Server.Tests;

/// <summary>Standard gRPC clients talk to the silo: python3-grpcio with stubs generated from protos/.</summary>
[Collection(SiloCollection.Name)]
public sealed class InteropTests(SiloFixture silo)
{
    [SkippableFact]
    public void PythonGrpcioReservesCommitsAndGetsStatusCodes()
    {
        var python = Components.RequirePythonWithGrpc();
        var key = Build.UniqueKey("py");
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "admission_interop.py");
        var address = $"{silo.Silo.Address.Host}:{silo.Silo.Address.Port}";

        var (exitCode, output) = Components.Run(python, [script, address, Path.Combine(Components.RepositoryRoot, "protos"), key], TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, output);
        var seen = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("ADMITTED", seen.GetProperty("first").GetProperty("decision").GetString());
        Assert.Equal($"{key}-1", seen.GetProperty("first").GetProperty("reservation_id").GetString());
        Assert.Equal(400, seen.GetProperty("first").GetProperty("remaining").GetInt64());
        Assert.Equal([$"tenant/{key}:50"], seen.GetProperty("first").GetProperty("thresholds").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("DENIED", seen.GetProperty("second").GetProperty("decision").GetString());
        Assert.Equal("BUDGET_EXHAUSTED", seen.GetProperty("second").GetProperty("reason").GetString());
        Assert.Equal($"tenant/{key}", seen.GetProperty("second").GetProperty("denied_scope").GetString());
        Assert.Equal(550, seen.GetProperty("commit").GetProperty("charged").GetInt64());
        Assert.False(seen.GetProperty("commit").GetProperty("late").GetBoolean());
        Assert.Equal(550, seen.GetProperty("status").GetProperty("spent").GetInt64());
        Assert.Equal(0, seen.GetProperty("status").GetProperty("held").GetInt64());
        Assert.Equal("INVALID_ARGUMENT", seen.GetProperty("empty_request_id").GetProperty("code").GetString());
        Assert.Equal("request_id is required", seen.GetProperty("empty_request_id").GetProperty("details").GetString());
        Assert.Equal("NOT_FOUND", seen.GetProperty("unknown_reservation").GetProperty("code").GetString());
    }
}
