namespace BudgetGrains.Actors;

/// <summary>Hands out location-transparent grain references. Callers never construct grains.</summary>
public interface IGrainFactory
{
    /// <summary>A reference to the grain with this key; cheap, and valid across deactivations.</summary>
    TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrain;
}
