namespace BudgetGrains.Actors;

/// <summary>Identifies a grain: its type name (from <see cref="GrainTypeAttribute"/>) and a string key.</summary>
public readonly record struct GrainId(string Type, string Key)
{
    /// <summary>"type/key", as it appears in logs.</summary>
    public override string ToString() => $"{Type}/{Key}";
}
