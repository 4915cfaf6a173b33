namespace BudgetGrains.Actors;

/// <summary>One grain's write inside a group-commit batch. State null: journal only, state unchanged.</summary>
public sealed record StateWrite(GrainId Grain, byte[]? State, IReadOnlyList<IJournalRecord> Journal);
