using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.Formats.Torch;

namespace Skim.Models.Weights;

/// <summary>Finds and opens the weight files of a checkpoint folder (or one named file) through Skim.Core's readers.</summary>
public static class WeightFiles
{
    /// <summary>The single-file PyTorch checkpoint name HF uses.</summary>
    public const string PyTorchFileName = "pytorch_model.bin";

    /// <summary>
    /// Opens <paramref name="path"/>: a folder (model.safetensors.index.json, else model.safetensors,
    /// else pytorch_model.bin, else its only *.pt/*.pth file), or a .safetensors, index .json,
    /// .bin, .pt or .pth file.
    /// </summary>
    /// <exception cref="SkimFormatException">No weights are there, or a file is invalid.</exception>
    public static OpenedWeights Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            if (File.Exists(Path.Combine(path, SafeTensorsIndex.IndexFileName)) || File.Exists(Path.Combine(path, SafeTensorsIndex.SingleFileName)))
            {
                return OpenFile(path);
            }
            if (File.Exists(Path.Combine(path, PyTorchFileName)))
            {
                return OpenFile(Path.Combine(path, PyTorchFileName));
            }
            var pickles = Directory.EnumerateFiles(path, "*.pt").Concat(Directory.EnumerateFiles(path, "*.pth")).Order(StringComparer.Ordinal).ToList();
            return pickles.Count switch
            {
                1 => OpenFile(pickles[0]),
                0 => throw new SkimFormatException(path, null, $"no weights (expected {SafeTensorsIndex.IndexFileName}, {SafeTensorsIndex.SingleFileName}, {PyTorchFileName} or one *.pt file)"),
                _ => throw new SkimFormatException(path, null, $"{pickles.Count} *.pt/*.pth files ({string.Join(", ", pickles.Select(Path.GetFileName))}); name the one to load"),
            };
        }
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "no such weight file or folder");
        }
        return OpenFile(path);
    }

    private static OpenedWeights OpenFile(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (Directory.Exists(path) || extension is ".safetensors" or ".json")
        {
            var index = SafeTensorsIndex.Open(path);
            return new OpenedWeights(index.Path, index, index);
        }
        if (extension is ".bin" or ".pt" or ".pth" or ".pkl")
        {
            return OpenedWeights.FromStateDict(path);
        }
        throw new SkimFormatException(path, null, $"unknown weight file type '{extension}' (expected .safetensors, .bin, .pt or .pth)");
    }
}

/// <summary>An open set of stored tensors; disposing releases memory-mapped files.</summary>
public sealed class OpenedWeights : IDisposable
{
    private readonly IDisposable? _owner;

    /// <summary>Wraps <paramref name="tensors"/> read from <paramref name="path"/>; <paramref name="owner"/> is disposed with this.</summary>
    public OpenedWeights(string path, IReadOnlyDictionary<string, RawTensor> tensors, IDisposable? owner)
    {
        Path = path;
        Tensors = tensors;
        _owner = owner;
    }

    /// <summary>Gets the file or folder the tensors came from.</summary>
    public string Path { get; }

    /// <summary>Gets the tensors by checkpoint key.</summary>
    public IReadOnlyDictionary<string, RawTensor> Tensors { get; }

    /// <inheritdoc />
    public void Dispose() => _owner?.Dispose();

    // State dicts are unpickled into managed memory by Skim.Core's allow-listed reader; nothing to release.
    internal static OpenedWeights FromStateDict(string path) => new(path, TorchStateDict.Load(path), null);
}
