namespace BudgetGrains.Actors;

/// <summary>A record appended atomically with a grain's state write; its meaning is given by the storage provider.</summary>
public interface IJournalRecord;
