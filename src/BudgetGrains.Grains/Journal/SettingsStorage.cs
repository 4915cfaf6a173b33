using System.Text.Json;
using Orleans.Runtime;
using Orleans.Storage;

namespace BudgetGrains.Grains.Journal;

/// <summary>
/// The Orleans grain storage of the grain state the admission path does not write as part of its journal entries (DESIGN.md
/// §5; today the learned estimates, docs/decisions/0031-azure-profile.md). Grains take it as
/// <c>[PersistentState(..., SettingsStorage.Name)] IPersistentState&lt;T&gt;</c>; the silo backs it by the journal's store
/// (<see cref="JournalGrainStorage"/>, the default) or by Azure Blob or Table storage (the Azure profile). Every backend
/// stores the same JSON, from the source-generated contracts: no CLR type names in stored data.
/// </summary>
public static class SettingsStorage
{
    /// <summary>The grain storage's name, the one every silo registers.</summary>
    public const string Name = "budgetgrains-settings";

    /// <summary>System.Text.Json from the grains' contracts; a type without one is refused rather than reflected over.</summary>
    public static IGrainStorageSerializer Serializer { get; } = new ContractSerializer();

    private sealed class ContractSerializer : IGrainStorageSerializer
    {
        private static readonly JsonSerializerOptions Options = new() { TypeInfoResolver = BudgetStateJsonContext.Default };

        public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input!, Contract<T>()));

        public T Deserialize<T>(BinaryData input) =>
            JsonSerializer.Deserialize(input.ToMemory().Span, Contract<T>()) ?? throw new InvalidOperationException($"Stored {typeof(T).Name} deserialized to null.");

        private static System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> Contract<T>() =>
            (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)(Options.TypeInfoResolver!.GetTypeInfo(typeof(T), Options)
                ?? throw new InvalidOperationException($"{typeof(T).Name} has no JSON contract in BudgetStateJsonContext: add one before storing it"));
    }
}

/// <summary>
/// <see cref="SettingsStorage"/> on the journal's store: a grain's state is its row of the journal's grain states, keyed by
/// grain type and key exactly as <see cref="DurableState{TState}"/> keys it, written through the journal (group-committed,
/// durable when the write completes). One activation per grain writes it; there is no ETag.
/// </summary>
internal sealed class JournalGrainStorage(JournalService journal) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (await journal.ReadStateAsync(KeyOf(grainId), CancellationToken.None) is not { } data) return;
        grainState.State = SettingsStorage.Serializer.Deserialize<T>(new BinaryData(data));
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await journal.AppendAsync(new JournalWrite(KeyOf(grainId), SettingsStorage.Serializer.Serialize(grainState.State).ToArray(), []));
        grainState.RecordExists = true;
    }

    /// <summary>The journal keeps no deletions of grain state: clearing stores the empty state.</summary>
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var empty = Activator.CreateInstance<T>();
        await journal.AppendAsync(new JournalWrite(KeyOf(grainId), SettingsStorage.Serializer.Serialize(empty).ToArray(), []));
        (grainState.State, grainState.RecordExists) = (empty, false);
    }

    private static StateKey KeyOf(GrainId grainId) => new(grainId.Type.ToString()!, grainId.Key.ToString()!);
}
