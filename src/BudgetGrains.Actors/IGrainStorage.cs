namespace BudgetGrains.Actors;

/// <summary>Durable store for grain state.</summary>
public interface IGrainStorage
{
    /// <summary>The last written state of a grain, or null if none was ever written.</summary>
    Task<byte[]?> ReadStateAsync(GrainId grain, CancellationToken cancellationToken);

    /// <summary>Writes a whole batch in one durable transaction: all of it or none of it, durable when the task completes.</summary>
    Task WriteBatchAsync(IReadOnlyList<StateWrite> batch, CancellationToken cancellationToken);
}
