using Skim.Core.Formats.Npy;

namespace Skim.Core.Formats.Npz;

/// <summary>How <see cref="SparseNpz.Save"/> writes a matrix.</summary>
public sealed record SparseNpzOptions
{
    /// <summary>
    /// Gets whether members are DEFLATE-compressed, as <c>scipy.sparse.save_npz</c> does by default;
    /// false stores them uncompressed (<c>compressed=False</c>, as NGAME writes). Defaults to true.
    /// </summary>
    public bool Compressed { get; init; } = true;

    /// <summary>Gets the dtype of the <c>data</c> member: <see cref="NpyDType.Float32"/> or <see cref="NpyDType.Float64"/>. Defaults to Float32.</summary>
    public NpyDType DataType { get; init; } = NpyDType.Float32;

    /// <summary>
    /// Gets the dtype of the <c>indices</c> and <c>indptr</c> members: <see cref="NpyDType.Int32"/>
    /// (what scipy uses whenever the values fit) or <see cref="NpyDType.Int64"/>. Defaults to Int32.
    /// </summary>
    public NpyDType IndexType { get; init; } = NpyDType.Int32;

    /// <summary>Gets whether the central directory uses ZIP64 records even when no size needs them (tests of the ZIP64 path).</summary>
    internal bool ForceZip64 { get; init; }

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (DataType is not (NpyDType.Float32 or NpyDType.Float64))
        {
            throw new SkimConfigException($"{nameof(DataType)} must be Float32 or Float64, found {DataType}");
        }
        if (IndexType is not (NpyDType.Int32 or NpyDType.Int64))
        {
            throw new SkimConfigException($"{nameof(IndexType)} must be Int32 or Int64, found {IndexType}");
        }
    }
}
