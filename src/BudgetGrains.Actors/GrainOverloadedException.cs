namespace BudgetGrains.Actors;

/// <summary>Thrown when an activation's mailbox or the activation table is full.</summary>
public sealed class GrainOverloadedException(string message) : Exception(message);
