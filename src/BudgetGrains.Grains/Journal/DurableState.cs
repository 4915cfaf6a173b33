using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace BudgetGrains.Grains.Journal;

/// <summary>
/// A grain's state kept in the journal: read when the grain activates, written with journal records in one durable
/// write. Orleans' <c>IPersistentState</c> writes each grain on its own; the admission path needs a reservation's state,
/// its counter deltas and its ledger entry in one transaction (decision 0003), so its grains keep state here instead.
/// Stored as JSON from source-generated contracts (no CLR type names in stored data), or in a form of the state's own.
/// </summary>
public sealed class DurableState<TState> where TState : class, new()
{
    private readonly JournalService _journal;
    private readonly StateKey _key;
    private readonly Func<TState, byte[]> _encode;
    private readonly Func<byte[], TState> _decode;

    public DurableState(JournalService journal, StateKey key, JsonTypeInfo<TState> contract)
        : this(journal, key, state => JsonSerializer.SerializeToUtf8Bytes(state, contract),
            data => JsonSerializer.Deserialize(data, contract) ?? throw new InvalidOperationException($"Stored state of {key} deserialized to null."))
    {
    }

    public DurableState(JournalService journal, StateKey key, Func<TState, byte[]> encode, Func<byte[], TState> decode) =>
        (_journal, _key, _encode, _decode) = (journal, key, encode, decode);

    /// <summary>The state; a new TState when none was stored.</summary>
    public TState Value { get; set; } = new();

    /// <summary>True when state was read from the journal or written by this activation.</summary>
    public bool RecordExists { get; private set; }

    /// <summary>Reads the stored state (call once, when the grain activates).</summary>
    public async Task ReadAsync(CancellationToken cancellationToken)
    {
        if (await _journal.ReadStateAsync(_key, cancellationToken) is not { } data) return;
        Value = _decode(data);
        RecordExists = true;
    }

    /// <summary>Writes <see cref="Value"/> and <paramref name="records"/> atomically; completes when durable.</summary>
    /// <param name="storeValue">False when one of <paramref name="records"/> carries the state instead (an open hold's, see
    /// <see cref="IJournalStore.KeepsOpenHoldStates"/>): the records alone are written.</param>
    public Task WriteAsync(IReadOnlyList<IJournalRecord> records, IReadOnlyList<ScopeFence>? fences = null, bool storeValue = true)
    {
        // Serialized now, inside the turn, so later changes of Value cannot leak into this write.
        var data = storeValue ? _encode(Value) : null;
        RecordExists = true;
        return _journal.AppendAsync(new JournalWrite(_key, data, records, fences));
    }

    /// <summary>Writes <see cref="Value"/> alone.</summary>
    public Task WriteAsync() => WriteAsync([]);
}
