using System.Text;
using Skim.Core.Formats.Npz;
using Skim.Core.Formats.SafeTensors;

namespace Skim.Core.Formats.Torch;

/// <summary>
/// Reads PyTorch checkpoints saved by <c>torch.save</c> in the zip format (PyTorch 1.6 and later;
/// <c>.pt</c>, <c>.pth</c>, <c>.bin</c>): <c>&lt;top&gt;/data.pkl</c> describes the object and
/// <c>&lt;top&gt;/data/&lt;key&gt;</c> hold the storages. The pickle runs through an allow-listed
/// interpreter (see <see cref="AllowedGlobals"/>): a file that references anything else, such as
/// <c>os.system</c>, is refused before any of it is acted on.
/// </summary>
public static class TorchStateDict
{
    private const long MaxPickleBytes = 256L << 20;

    /// <summary>Gets the Python globals a loadable checkpoint may reference.</summary>
    public static IEnumerable<string> AllowedGlobals => RestrictedUnpickler.AllowedGlobals;

    /// <summary>
    /// Loads every tensor of the checkpoint at <paramref name="path"/>, in file order. Nested dicts
    /// and lists are flattened with dotted keys (<c>{"model": {"w": t}}</c> gives <c>model.w</c>,
    /// lists give <c>name.0</c>, <c>name.1</c>, ...); non-tensor values (epochs, strings) are skipped.
    /// Tensors that share a storage share memory; non-contiguous views are copied into C order.
    /// </summary>
    /// <exception cref="SkimFormatException">The file is not a zip checkpoint, references a disallowed global, or is inconsistent.</exception>
    public static IReadOnlyDictionary<string, RawTensor> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckMagic(path);
        using var zip = ZipReader.Open(path);
        var pickles = zip.Entries.Where(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) && e.Name.Count(c => c == '/') == 1).ToList();
        if (pickles.Count != 1)
        {
            throw new SkimFormatException(path, null, pickles.Count == 0
                ? "zip archive has no <folder>/data.pkl: not a torch.save checkpoint"
                : $"zip archive has {pickles.Count} <folder>/data.pkl members, expected one");
        }
        var member = pickles[0].Name;
        var top = member[..^"data.pkl".Length];
        if (zip.Find(top + "byteorder") is { } byteOrderEntry)
        {
            var order = Encoding.ASCII.GetString(ReadMember(zip, byteOrderEntry, 16)).Trim();
            if (order != "little")
            {
                throw new SkimFormatException(path, top + "byteorder", $"expected 'little', found '{order}'");
            }
        }
        var pickle = ReadMember(zip, pickles[0], MaxPickleBytes);
        var root = RestrictedUnpickler.Load(pickle, path, member);
        if (root is not PickleDict dict)
        {
            throw new SkimFormatException(path, member, $"expected a dict of tensors at the top level, found {RestrictedUnpickler.Describe(root)}");
        }
        var records = new List<(string Name, TensorRecord Tensor)>();
        Flatten(path, member, "", dict, records, depth: 0);
        var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var result = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
        foreach (var (name, record) in records)
        {
            if (!storages.TryGetValue(record.Storage.Key, out var bytes))
            {
                bytes = ReadStorage(zip, top, record.Storage);
                storages[record.Storage.Key] = bytes;
            }
            if (!result.TryAdd(name, Materialise(path, member, name, record, bytes)))
            {
                throw new SkimFormatException(path, member, $"key '{name}' occurs twice after flattening nested containers");
            }
        }
        return result;
    }

    private static void CheckMagic(string path)
    {
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "file not found");
        }
        Span<byte> magic = stackalloc byte[4];
        using (var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
        {
            if (probe.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4)
            {
                throw new SkimFormatException(path, null, "file is too short to be a PyTorch checkpoint");
            }
        }
        if (magic[0] == 0x80 && magic[1] <= 5)
        {
            throw new SkimFormatException(path, null, "legacy (pre-1.6, non-zip) PyTorch checkpoint; re-save it with a current torch.save");
        }
        if (magic[0] != (byte)'P' || magic[1] != (byte)'K')
        {
            throw new SkimFormatException(path, null, $"expected a zip archive (bytes 'PK'), found 0x{Convert.ToHexString(magic)}");
        }
    }

    private static void Flatten(string path, string member, string prefix, object? value, List<(string, TensorRecord)> records, int depth)
    {
        RestrictedUnpickler.CheckDepth(depth, path, member);
        switch (value)
        {
            case TensorRecord tensor:
                records.Add((prefix, tensor));
                break;
            case PickleDict dict:
                foreach (var (key, item) in dict.Items)
                {
                    var name = key switch
                    {
                        string s => s,
                        long n => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        _ => throw new SkimFormatException(path, member, $"dict key {RestrictedUnpickler.Describe(key)} under '{prefix}' is not a string"),
                    };
                    Flatten(path, member, prefix.Length == 0 ? name : $"{prefix}.{name}", item, records, depth + 1);
                }
                break;
            case List<object?> or PickleTuple:
                var items = value is PickleTuple t ? t.Items : [.. (List<object?>)value];
                for (var i = 0; i < items.Length; i++)
                {
                    var name = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    Flatten(path, member, prefix.Length == 0 ? name : $"{prefix}.{name}", items[i], records, depth + 1);
                }
                break;
            default:
                // Scalars and strings (epoch, step, config values) carry no weights.
                break;
        }
    }

    private static byte[] ReadStorage(ZipReader zip, string top, StorageRef storage)
    {
        var name = $"{top}data/{storage.Key}";
        var entry = zip.Find(name) ?? throw zip.Error(name, $"storage '{storage.Key}' referenced by data.pkl is missing from the archive");
        var expected = storage.ElementCount <= long.MaxValue / storage.DType.ElementSize() ? storage.ElementCount * storage.DType.ElementSize() : -1;
        if (expected < 0 || entry.UncompressedSize != expected)
        {
            throw zip.Error(name, $"{storage.StorageType} of {storage.ElementCount} elements needs {expected} bytes, the member holds {entry.UncompressedSize}");
        }
        if (expected > Array.MaxLength)
        {
            throw zip.Error(name, $"storage of {expected} bytes is larger than one .NET array holds (2 GB); convert the checkpoint to safetensors");
        }
        return ReadMember(zip, entry, expected);
    }

    /// <summary>Reads a member whose size must not exceed <paramref name="limit"/>, allocating only what the data proves.</summary>
    private static byte[] ReadMember(ZipReader zip, ZipEntry entry, long limit)
    {
        if (entry.UncompressedSize > limit)
        {
            throw zip.Error(entry.Name, $"member is {entry.UncompressedSize} bytes, more than the {limit}-byte limit");
        }
        // The entry stream ends at the declared size, names the member if the data ends early and checks the CRC.
        using var input = zip.OpenEntry(entry);
        if (entry.Method == 0)
        {
            // Stored members (what torch.save writes) lie inside the file, as the reader checked: allocate once.
            var bytes = GC.AllocateUninitializedArray<byte>((int)entry.UncompressedSize);
            input.ReadExactly(bytes);
            return bytes;
        }
        // A deflated member's declared size may lie (up to DEFLATE's ratio); grow with the data actually inflated.
        using var buffer = new MemoryStream();
        input.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static RawTensor Materialise(string path, string member, string name, TensorRecord record, byte[] storage)
    {
        var elementSize = record.Storage.DType.ElementSize();
        var count = RawTensor.ElementCountOf(record.Size)
            ?? throw new SkimFormatException(path, member, $"tensor '{name}' size [{string.Join(", ", record.Size)}] overflows");
        if (count == 0)
        {
            return new RawTensor(name, record.Storage.DType, record.Size, ReadOnlyMemory<byte>.Empty);
        }
        // The furthest element the view touches must lie inside the storage.
        var last = record.StorageOffset;
        for (var d = 0; d < record.Size.Length; d++)
        {
            last += (record.Size[d] - 1) * record.Stride[d];
        }
        if (last >= record.Storage.ElementCount || last < 0)
        {
            throw new SkimFormatException(path, member,
                $"tensor '{name}' (offset {record.StorageOffset}, size [{string.Join(", ", record.Size)}], stride [{string.Join(", ", record.Stride)}]) reaches element {last} of a {record.Storage.ElementCount}-element storage");
        }
        if (IsContiguous(record.Size, record.Stride))
        {
            var memory = storage.AsMemory(checked((int)(record.StorageOffset * elementSize)), checked((int)(count * elementSize)));
            return new RawTensor(name, record.Storage.DType, record.Size, memory);
        }
        return new RawTensor(name, record.Storage.DType, record.Size, GatherStrided(record, storage, count, elementSize));
    }

    private static bool IsContiguous(long[] size, long[] stride)
    {
        long expected = 1;
        for (var d = size.Length - 1; d >= 0; d--)
        {
            // Dimensions of extent 1 may carry any stride (PyTorch does not normalise them).
            if (size[d] != 1 && stride[d] != expected)
            {
                return false;
            }
            expected *= size[d];
        }
        return true;
    }

    /// <summary>Copies a strided view (e.g. a transposed weight saved as is) into C order.</summary>
    private static byte[] GatherStrided(TensorRecord record, byte[] storage, long count, int elementSize)
    {
        var result = new byte[checked(count * elementSize)];
        var rank = record.Size.Length;
        var index = new long[rank];
        var source = record.StorageOffset;
        for (long i = 0; i < count; i++)
        {
            Buffer.BlockCopy(storage, (int)(source * elementSize), result, (int)(i * elementSize), elementSize);
            // Odometer increment over the dimensions, innermost fastest.
            for (var d = rank - 1; d >= 0; d--)
            {
                index[d]++;
                source += record.Stride[d];
                if (index[d] < record.Size[d])
                {
                    break;
                }
                source -= index[d] * record.Stride[d];
                index[d] = 0;
            }
        }
        return result;
    }
}
