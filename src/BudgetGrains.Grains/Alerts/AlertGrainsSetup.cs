using System.Text.Json.Serialization;
using BudgetGrains.Actors;

namespace BudgetGrains.Grains.Alerts;

/// <summary>Registers the alert grains (sink outboxes, acknowledgements) with a runtime.</summary>
public static class AlertGrainsSetup
{
    public static void Configure(ActorRuntimeOptions options) =>
        options.StateSerializerOptions.TypeInfoResolverChain.Insert(0, AlertStateJsonContext.Default);

    public static ActorRuntime AddAlertGrains(this ActorRuntime runtime) => runtime
        .AddGrain<IAlertSinkGrain, AlertSinkGrain>()
        .AddGrain<IAlertGrain, AlertGrain>();
}

[JsonSerializable(typeof(AlertSinkState))]
internal sealed partial class AlertStateJsonContext : JsonSerializerContext;
