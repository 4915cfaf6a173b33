namespace BudgetGrains.Actors;

/// <summary>Names a grain class's type (used in ids and storage), e.g. [GrainType("scope")].</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    /// <summary>The grain type name: the first half of every <see cref="GrainId"/> of this class.</summary>
    public string Name { get; } = name;
}
