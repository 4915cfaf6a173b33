namespace BudgetGrains.Actors;

/// <summary>Marker for grain interfaces. Their methods return Task or Task&lt;T&gt; and end in Async.</summary>
public interface IGrain;
