namespace Skim.XcTrain.Sampling;

/// <summary>
/// A negative sampler's checkpoint as plain data (System.Text.Json writes it as is): the memory
/// bank's label ids oldest first and, for kinds that keep embeddings, their float32 rows.
/// </summary>
public sealed record SamplerState
{
    /// <summary>Gets the name of the sampler that saved the state.</summary>
    public string Sampler { get; init; } = "";

    /// <summary>Gets the embedding dimension D, or 0 when no embeddings are kept.</summary>
    public int Dimension { get; init; }

    /// <summary>Gets the remembered label ids, oldest first.</summary>
    public int[] LabelIds { get; init; } = [];

    /// <summary>Gets the remembered embeddings, row-major (LabelIds.Length × Dimension), or empty.</summary>
    public float[] Embeddings { get; init; } = [];
}
