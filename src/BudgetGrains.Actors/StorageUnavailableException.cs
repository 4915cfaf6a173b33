namespace BudgetGrains.Actors;

/// <summary>Thrown to callers whose write could not be made durable (the batch failed).</summary>
public sealed class StorageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
