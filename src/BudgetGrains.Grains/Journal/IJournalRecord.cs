namespace BudgetGrains.Grains.Journal;

/// <summary>A record appended atomically with a grain's state in one journal write; its meaning is given by the backend's handlers.</summary>
public interface IJournalRecord;
