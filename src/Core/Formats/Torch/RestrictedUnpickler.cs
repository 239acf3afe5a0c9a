using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using Skim.Core.Formats.SafeTensors;

namespace Skim.Core.Formats.Torch;

/// <summary>
/// A pickle virtual machine that understands only what <c>torch.save</c> writes for a state dict:
/// containers, scalars, strings, the tensor rebuild functions and storage persistent ids. Every
/// GLOBAL is checked against an allow-list when it is read, and nothing is ever executed: allowed
/// callables are interpreted here in C#. Anything else (<c>os.system</c>, <c>builtins.eval</c>,
/// custom classes) is refused with an error naming the global.
/// </summary>
/// <remarks>
/// No Python pickle library exists for .NET here (Razorvine.Pickle is not served, and a general
/// unpickler is the wrong tool for untrusted files anyway), so this reader is hand-written.
/// Memory is bounded by the input: every value is created by an opcode that consumes at least one
/// byte, and every length prefix is checked against the bytes that remain before allocating.
/// </remarks>
internal sealed class RestrictedUnpickler
{
    private const int MaxContainerDepth = 64;

    private static readonly Dictionary<string, TensorDType> s_storageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = TensorDType.Float32,
        ["HalfStorage"] = TensorDType.Float16,
        ["BFloat16Storage"] = TensorDType.BFloat16,
        ["DoubleStorage"] = TensorDType.Float64,
        ["LongStorage"] = TensorDType.Int64,
        ["IntStorage"] = TensorDType.Int32,
        ["ShortStorage"] = TensorDType.Int16,
        ["CharStorage"] = TensorDType.Int8,
        ["ByteStorage"] = TensorDType.UInt8,
        ["BoolStorage"] = TensorDType.Bool,
    };

    private static readonly HashSet<string> s_allowedGlobals = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._tensor._rebuild_from_type_v2",
        "torch.nn.parameter.Parameter",
        "torch.Tensor",
        "torch.Size",
        "_codecs.encode",
    };

    private readonly byte[] _data;
    private readonly string _path;
    private readonly string _member;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private readonly Dictionary<string, StorageRef> _storages = new(StringComparer.Ordinal);
    private int _position;

    private RestrictedUnpickler(byte[] data, string path, string member)
    {
        _data = data;
        _path = path;
        _member = member;
    }

    /// <summary>Gets the names of the globals a state dict may reference, for error messages and docs.</summary>
    public static IEnumerable<string> AllowedGlobals => s_allowedGlobals.Concat(s_storageTypes.Keys.Select(k => "torch." + k)).Order(StringComparer.Ordinal);

    /// <summary>Runs the pickle in <paramref name="data"/> and returns the object it builds.</summary>
    /// <exception cref="SkimFormatException">A disallowed global, an unsupported opcode, or a malformed pickle.</exception>
    public static object? Load(byte[] data, string path, string member) => new RestrictedUnpickler(data, path, member).Run();

    private object? Run()
    {
        while (true)
        {
            if (_position >= _data.Length)
            {
                throw Error("pickle ends without a STOP opcode (truncated)");
            }
            var at = _position;
            var opcode = _data[_position++];
            switch (opcode)
            {
                case 0x80: // PROTO
                    var protocol = ReadByte();
                    if (protocol > 5)
                    {
                        throw Error($"pickle protocol {protocol} is not supported (expected 2 to 5)");
                    }
                    break;
                case 0x95: // FRAME: a length hint only
                    Take(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                    {
                        throw Error($"STOP with {_stack.Count} values on the stack, expected exactly 1");
                    }
                    return _stack[0];
                case (byte)'(':
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'}':
                    Push(new PickleDict());
                    break;
                case (byte)']':
                    Push(new List<object?>());
                    break;
                case (byte)')':
                    Push(new PickleTuple([]));
                    break;
                case (byte)'N':
                    Push(null);
                    break;
                case 0x88:
                    Push(true);
                    break;
                case 0x89:
                    Push(false);
                    break;
                case (byte)'J': // BININT
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
                    break;
                case (byte)'K': // BININT1
                    Push((long)ReadByte());
                    break;
                case (byte)'M': // BININT2
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
                    break;
                case 0x8a: // LONG1
                    PushLong(ReadByte());
                    break;
                case 0x8b: // LONG4
                    PushLong(ReadLength(4));
                    break;
                case (byte)'G': // BINFLOAT, big-endian
                    Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8)));
                    break;
                case (byte)'X': // BINUNICODE
                    Push(ReadUtf8(ReadLength(4)));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(ReadUtf8(ReadByte()));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(ReadUtf8(ReadLength(8)));
                    break;
                case (byte)'T': // BINSTRING (Python 2 str)
                    Push(Encoding.Latin1.GetString(Take(ReadLength(4))));
                    break;
                case (byte)'U': // SHORT_BINSTRING
                    Push(Encoding.Latin1.GetString(Take(ReadByte())));
                    break;
                case (byte)'B': // BINBYTES
                    Push(Take(ReadLength(4)).ToArray());
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    Push(Take(ReadByte()).ToArray());
                    break;
                case 0x8e: // BINBYTES8
                    Push(Take(ReadLength(8)).ToArray());
                    break;
                case (byte)'q': // BINPUT
                    _memo[ReadByte()] = Peek();
                    break;
                case (byte)'r': // LONG_BINPUT
                    _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek();
                    break;
                case 0x94: // MEMOIZE
                    _memo[_memo.Count] = Peek();
                    break;
                case (byte)'h': // BINGET
                    Push(Recall(ReadByte()));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))));
                    break;
                case (byte)'c': // GLOBAL
                    Push(Global(ReadLine(), ReadLine()));
                    break;
                case 0x93: // STACK_GLOBAL
                    var name = Pop();
                    var module = Pop();
                    if (module is not string moduleText || name is not string nameText)
                    {
                        throw Error("STACK_GLOBAL expects two strings");
                    }
                    Push(Global(moduleText, nameText));
                    break;
                case (byte)'t': // TUPLE
                    Push(new PickleTuple([.. PopToMark()]));
                    break;
                case 0x85:
                    Push(new PickleTuple([Pop()]));
                    break;
                case 0x86:
                {
                    var second = Pop();
                    Push(new PickleTuple([Pop(), second]));
                    break;
                }
                case 0x87:
                {
                    var third = Pop();
                    var second = Pop();
                    Push(new PickleTuple([Pop(), second, third]));
                    break;
                }
                case (byte)'l': // LIST
                    Push(PopToMark());
                    break;
                case (byte)'d': // DICT
                {
                    var items = PopToMark();
                    var dict = new PickleDict();
                    AddPairs(dict, items);
                    Push(dict);
                    break;
                }
                case 0x8f: // EMPTY_SET (read as a list; state dicts do not use sets)
                    Push(new List<object?>());
                    break;
                case (byte)'a': // APPEND
                {
                    var item = Pop();
                    AsList(Peek(), "APPEND").Add(item);
                    break;
                }
                case (byte)'e': // APPENDS
                case 0x90: // ADDITEMS
                {
                    var items = PopToMark();
                    AsList(Peek(), "APPENDS").AddRange(items);
                    break;
                }
                case 0x91: // FROZENSET
                    Push(PopToMark());
                    break;
                case (byte)'s': // SETITEM
                {
                    var value = Pop();
                    var key = Pop();
                    AsDict(Peek(), "SETITEM").Items.Add(new(key, value));
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    var items = PopToMark();
                    AddPairs(AsDict(Peek(), "SETITEMS"), items);
                    break;
                }
                case (byte)'0': // POP
                    Pop();
                    break;
                case (byte)'1': // POP_MARK
                    PopToMark();
                    break;
                case (byte)'2': // DUP
                    Push(Peek());
                    break;
                case (byte)'Q': // BINPERSID
                    Push(PersistentLoad(Pop()));
                    break;
                case (byte)'R': // REDUCE
                {
                    var arguments = Pop();
                    var callable = Pop();
                    Push(Reduce(callable, arguments));
                    break;
                }
                case 0x81: // NEWOBJ
                {
                    var arguments = Pop();
                    var type = Pop();
                    Push(NewObject(type, arguments));
                    break;
                }
                case (byte)'b': // BUILD
                {
                    var state = Pop();
                    Build(Peek(), state);
                    break;
                }
                default:
                    throw Error($"opcode 0x{opcode:x2} at byte {at} is not supported by the state-dict reader");
            }
        }
    }

    private PickleGlobal Global(string module, string name)
    {
        // Protocol-2 pickles spell Python 3 modules by their Python 2 names; Python maps them back
        // on load, so the error names the module that would really be imported.
        module = module switch
        {
            "__builtin__" => "builtins",
            "copy_reg" => "copyreg",
            _ => module,
        };
        var full = $"{module}.{name}";
        if (module == "torch" && s_storageTypes.ContainsKey(name))
        {
            return new PickleGlobal(module, name);
        }
        if (!s_allowedGlobals.Contains(full))
        {
            throw Error($"global '{full}' is not allowed: a state dict may only reference collections.OrderedDict, torch tensor rebuild functions and torch storage types; refusing to load (the file may run code when loaded by Python)");
        }
        return new PickleGlobal(module, name);
    }

    private object? Reduce(object? callable, object? arguments)
    {
        if (callable is not PickleGlobal global)
        {
            throw Error($"REDUCE on {Describe(callable)}, expected an allowed function");
        }
        if (arguments is not PickleTuple { Items: var args })
        {
            throw Error($"REDUCE of {global.FullName} with {Describe(arguments)} arguments, expected a tuple");
        }
        switch (global.FullName)
        {
            case "collections.OrderedDict":
                var dict = new PickleDict();
                if (args.Length == 1 && args[0] is List<object?> pairs)
                {
                    foreach (var pair in pairs)
                    {
                        if (pair is not PickleTuple { Items: [var key, var value] })
                        {
                            throw Error("OrderedDict(...) expects (key, value) pairs");
                        }
                        dict.Items.Add(new(key, value));
                    }
                }
                else if (args.Length != 0)
                {
                    throw Error($"OrderedDict(...) with {args.Length} arguments is not supported");
                }
                return dict;
            case "torch._utils._rebuild_tensor_v2" when args.Length is 6 or 7:
            case "torch._utils._rebuild_tensor" when args.Length == 4:
                return RebuildTensor(global, args);
            case "torch._utils._rebuild_parameter" when args.Length == 3:
            case "torch._utils._rebuild_parameter_with_state" when args.Length == 4:
                return args[0] is TensorRecord ? args[0] : throw Error($"{global.FullName} expects a tensor, found {Describe(args[0])}");
            case "torch._tensor._rebuild_from_type_v2" when args.Length == 4:
                // (func, new_type, args, state): the subclass and its state carry no weights.
                if (args[2] is not PickleTuple inner)
                {
                    throw Error($"{global.FullName} expects an argument tuple, found {Describe(args[2])}");
                }
                return Reduce(args[0], inner);
            case "torch.Size" when args.Length == 1 && args[0] is PickleTuple size:
                return size;
            case "_codecs.encode" when args.Length == 2 && args[0] is string text && args[1] is string encoding:
                return encoding.ToUpperInvariant() switch
                {
                    "LATIN1" or "LATIN-1" or "ISO-8859-1" => Encoding.Latin1.GetBytes(text),
                    "UTF-8" or "UTF8" => Encoding.UTF8.GetBytes(text),
                    _ => throw Error($"_codecs.encode with encoding '{encoding}' is not supported"),
                };
            default:
                throw Error($"calling {global.FullName} with {args.Length} arguments is not supported by the state-dict reader");
        }
    }

    private TensorRecord RebuildTensor(PickleGlobal global, object?[] args)
    {
        if (args[0] is not StorageRef storage)
        {
            throw Error($"{global.FullName} expects a storage, found {Describe(args[0])}");
        }
        var offset = AsInteger(args[1], "storage_offset");
        var size = AsIntegers(args[2], "size");
        var stride = AsIntegers(args[3], "stride");
        if (size.Length != stride.Length)
        {
            throw Error($"tensor size has {size.Length} dimensions but stride has {stride.Length}");
        }
        return new TensorRecord(storage, offset, size, stride);
    }

    private StorageRef PersistentLoad(object? pid)
    {
        if (pid is not PickleTuple { Items: [string kind, var type, string key, _, var count] } || kind != "storage")
        {
            throw Error($"persistent id {Describe(pid)} is not a ('storage', type, key, location, numel) tuple");
        }
        if (type is not PickleGlobal { Module: "torch" } storageType || !s_storageTypes.TryGetValue(storageType.Name, out var dtype))
        {
            throw Error($"storage type {Describe(type)} is not supported (expected one of {string.Join(", ", s_storageTypes.Keys)})");
        }
        var elements = AsInteger(count, "storage numel");
        if (_storages.TryGetValue(key, out var known))
        {
            if (known.DType != dtype)
            {
                throw Error($"storage '{key}' is used as both {known.StorageType} and {storageType.Name}");
            }
            return known;
        }
        var storage = new StorageRef(key, dtype, elements, storageType.Name);
        _storages[key] = storage;
        return storage;
    }

    private PickleDict NewObject(object? type, object? arguments)
    {
        if (type is PickleGlobal { Module: "collections", Name: "OrderedDict" } && arguments is PickleTuple { Items.Length: 0 })
        {
            return new PickleDict();
        }
        throw Error($"NEWOBJ of {Describe(type)} is not supported by the state-dict reader");
    }

    private void Build(object? target, object? state)
    {
        // OrderedDict state (the module's _metadata versions) and parameter hooks carry no weights.
        if (target is PickleDict or TensorRecord)
        {
            return;
        }
        throw Error($"BUILD on {Describe(target)} with state {Describe(state)} is not supported");
    }

    private long AsInteger(object? value, string what) =>
        value is long number && number >= 0 ? number : throw Error($"{what} expected a non-negative integer, found {Describe(value)}");

    private long[] AsIntegers(object? value, string what)
    {
        if (value is not PickleTuple { Items: var items })
        {
            throw Error($"{what} expected a tuple of integers, found {Describe(value)}");
        }
        return [.. items.Select(i => AsInteger(i, what))];
    }

    private void AddPairs(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0)
        {
            throw Error($"dict items have an odd count ({items.Count})");
        }
        for (var i = 0; i < items.Count; i += 2)
        {
            dict.Items.Add(new(items[i], items[i + 1]));
        }
    }

    private List<object?> AsList(object? value, string opcode) =>
        value as List<object?> ?? throw Error($"{opcode} on {Describe(value)}, expected a list");

    private PickleDict AsDict(object? value, string opcode) =>
        value as PickleDict ?? throw Error($"{opcode} on {Describe(value)}, expected a dict");

    private void Push(object? value) => _stack.Add(value);

    private object? Peek()
    {
        var floor = _marks.Count > 0 ? _marks.Peek() : 0;
        return _stack.Count > floor ? _stack[^1] : throw Error("stack underflow");
    }

    private object? Pop()
    {
        var value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0)
        {
            throw Error("MARK expected but none is open");
        }
        var mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private object? Recall(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Error($"memo entry {index} read before it was written");

    private byte ReadByte() => Take(1)[0];

    private ReadOnlySpan<byte> Take(long count)
    {
        if (count < 0 || count > _data.Length - _position)
        {
            throw Error($"needs {count} bytes at byte {_position}, only {_data.Length - _position} remain (truncated or corrupt pickle)");
        }
        var span = _data.AsSpan(_position, (int)count);
        _position += (int)count;
        return span;
    }

    private long ReadLength(int width)
    {
        var bytes = Take(width);
        var length = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        // Bound every length by what is left before anything is allocated for it.
        return length <= (ulong)(_data.Length - _position)
            ? (long)length
            : throw Error($"length prefix {length} at byte {_position - width} exceeds the {_data.Length - _position} bytes that remain");
    }

    private string ReadUtf8(long length)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(length));
        }
        catch (DecoderFallbackException)
        {
            throw Error($"string at byte {_position - length} is not valid UTF-8");
        }
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _position);
        if (end < 0)
        {
            throw Error("GLOBAL name runs to the end of the pickle without a newline");
        }
        var text = Encoding.ASCII.GetString(_data, _position, end - _position);
        _position = end + 1;
        return text;
    }

    private void PushLong(long length)
    {
        // Python ints are unbounded; keep the common case a long and larger ones as BigInteger.
        var value = new BigInteger(Take(length), isUnsigned: false, isBigEndian: false);
        if (value >= long.MinValue && value <= long.MaxValue)
        {
            Push((long)value);
        }
        else
        {
            Push(value);
        }
    }

    private SkimFormatException Error(string problem) => new(_path, _member, problem);

    internal static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"'{(s.Length > 40 ? s[..40] + "..." : s)}'",
        long or double or bool or BigInteger => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        PickleGlobal g => g.FullName,
        PickleTuple t => $"a {t.Items.Length}-tuple",
        List<object?> l => $"a list of {l.Count}",
        PickleDict d => $"a dict of {d.Items.Count}",
        StorageRef s => $"storage '{s.Key}'",
        TensorRecord => "a tensor",
        byte[] b => $"{b.Length} bytes",
        _ => value.GetType().Name,
    };

    /// <summary>Checks container nesting while flattening (the VM itself is iterative and needs no bound).</summary>
    internal static void CheckDepth(int depth, string path, string member)
    {
        if (depth > MaxContainerDepth)
        {
            throw new SkimFormatException(path, member, $"containers nest deeper than {MaxContainerDepth} levels");
        }
    }
}
