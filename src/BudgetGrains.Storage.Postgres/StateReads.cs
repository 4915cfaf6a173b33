using BudgetGrains.Grains.Journal;
using Npgsql;
using NpgsqlTypes;
using static BudgetGrains.Storage.Postgres.Sql;

namespace BudgetGrains.Storage.Postgres;

/// <summary>
/// Grain state reads, coalesced: every new reservation reads its state once when it activates, so under load many reads
/// arrive at once. They wait behind at most <see cref="MaxQueries"/> queries in flight and then go together, up to
/// <see cref="MaxKeysPerQuery"/> keys in one query, so a burst of activations costs a few round trips, not one each. A
/// read that finds no query in flight is sent at once, alone: no added latency when the silo is quiet.
/// </summary>
internal sealed class StateReads(NpgsqlDataSource dataSource)
{
    /// <summary>Queries in flight at once; further reads wait and go with the next.</summary>
    public const int MaxQueries = 4;

    /// <summary>Keys asked for in one query.</summary>
    public const int MaxKeysPerQuery = 256;

    private const string Select = """
        SELECT s.grain_type, s.grain_key, s.data FROM grain_state s
        JOIN unnest($1::text[], $2::text[]) AS k(grain_type, grain_key) ON s.grain_type = k.grain_type AND s.grain_key = k.grain_key
        """;

    private readonly object _gate = new();
    private readonly Queue<Pending> _waiting = new();
    private int _queries;

    public Task<byte[]?> ReadAsync(StateKey grain, CancellationToken cancellationToken)
    {
        var pending = new Pending(grain, cancellationToken);
        lock (_gate)
        {
            _waiting.Enqueue(pending);
            if (_queries >= MaxQueries) return pending.Task;
            _queries++;
        }
        _ = Task.Run(DrainAsync, CancellationToken.None);
        return pending.Task;
    }

    /// <summary>Sends what is waiting, a query at a time, until nothing is; then this query slot is free again.</summary>
    private async Task DrainAsync()
    {
        while (true)
        {
            var keys = new List<Pending>();
            lock (_gate)
            {
                while (keys.Count < MaxKeysPerQuery && _waiting.TryDequeue(out var next))
                    if (!next.Task.IsCompleted) keys.Add(next);
                if (keys.Count == 0)
                {
                    _queries--;
                    return;
                }
            }
            try
            {
                var found = await QueryAsync(keys);
                foreach (var read in keys) read.Complete(found.GetValueOrDefault(read.Grain), null);
            }
            catch (Exception e)
            {
                foreach (var read in keys) read.Complete(null, e);
            }
        }
    }

    private async Task<Dictionary<StateKey, byte[]>> QueryAsync(List<Pending> keys)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = Command(connection, Select, Array(keys.Select(k => k.Grain.GrainType), NpgsqlDbType.Text),
            Array(keys.Select(k => k.Grain.Key), NpgsqlDbType.Text));
        var found = new Dictionary<StateKey, byte[]>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) found[new StateKey(reader.GetString(0), reader.GetString(1))] = (byte[])reader.GetValue(2);
        return found;
    }

    /// <summary>One waiting read; cancelled reads are dropped from the next query.</summary>
    private sealed class Pending : TaskCompletionSource<byte[]?>
    {
        private readonly CancellationTokenRegistration _cancellation;

        public Pending(StateKey grain, CancellationToken cancellationToken) : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            Grain = grain;
            if (cancellationToken.CanBeCanceled) _cancellation = cancellationToken.Register(() => TrySetCanceled(cancellationToken));
        }

        public StateKey Grain { get; }

        public void Complete(byte[]? state, Exception? error)
        {
            _cancellation.Dispose();
            if (error is null) TrySetResult(state);
            else TrySetException(error);
        }
    }
}
