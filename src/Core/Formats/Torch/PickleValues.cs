using Skim.Core.Formats.SafeTensors;

namespace Skim.Core.Formats.Torch;

/// <summary>A reference to a module-level Python name that the allow-list admitted (a class or function, never called freely).</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>A Python tuple (kept apart from lists because argument tuples are matched by position).</summary>
internal sealed record PickleTuple(object?[] Items);

/// <summary>A dict or OrderedDict, in insertion order.</summary>
internal sealed class PickleDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = [];
}

/// <summary>The persistent id of a storage in the archive's <c>data/</c> folder.</summary>
internal sealed record StorageRef(string Key, TensorDType DType, long ElementCount, string StorageType);

/// <summary>The arguments of <c>torch._utils._rebuild_tensor_v2</c>: a view into a storage.</summary>
internal sealed record TensorRecord(StorageRef Storage, long StorageOffset, long[] Size, long[] Stride);
