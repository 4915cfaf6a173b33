using BudgetGrains.Grains.Storage;

namespace BudgetGrains.Grains;

/// <summary>The rules of a task's outcome (docs/decisions/0042): free-form so that an operator can name what a task
/// achieves ("resolved", "document_processed"), but lower-case and short, so that one word is one row of a report.</summary>
public static class TaskOutcomes
{
    /// <summary>Why <paramref name="outcome"/> is not a valid outcome; null when it is.</summary>
    public static string? Validate(string outcome)
    {
        if (outcome.Length > Limits.MaxOutcomeLength) return $"outcome is longer than {Limits.MaxOutcomeLength} characters";
        foreach (var c in outcome)
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or ':' or '-'))
                return $"outcome '{Scopes.ScopeIds.Truncate(outcome)}' may only have a-z 0-9 . _ : - (lower case, so that one word is one row)";
        return outcome == TaskKinds.Open ? $"outcome '{TaskKinds.Open}' names the tasks never ended; end a task with another word" : null;
    }
}
