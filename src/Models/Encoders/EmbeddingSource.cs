using System.Text;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Models.Tokenization;

namespace Skim.Models.Encoders;

/// <summary>Batches of token rows for <see cref="EmbeddingJob"/>: from a text file or from NGAME token files.</summary>
internal abstract class EmbeddingSource : IDisposable
{
    private const string IdsSuffix = "_input_ids.npy";
    private const string MaskSuffix = "_attention_mask.npy";

    /// <summary>Gets the kind of input.</summary>
    public abstract EmbeddingInputKind Kind { get; }

    /// <summary>Gets the number of rows the source yields.</summary>
    public abstract long Rows { get; }

    /// <summary>Gets the input, for reports.</summary>
    public abstract string Description { get; }

    /// <summary>Gets the next batch of at most <paramref name="batchSize"/> rows, or null at the end.</summary>
    public abstract ValueTask<EncodedBatch?> NextAsync(int batchSize, CancellationToken ct);

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>
    /// Decides what <paramref name="input"/> names without opening it: an existing text file, or a token
    /// prefix (given as DIR/PREFIX or as the ids file itself).
    /// </summary>
    /// <exception cref="SkimConfigException">Neither exists.</exception>
    public static (EmbeddingInputKind Kind, string Path) Resolve(string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var named = input.EndsWith(IdsSuffix, StringComparison.Ordinal);
        if (!named && File.Exists(input))
        {
            return input.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)
                ? throw new SkimConfigException($"--input '{input}': an .npy file is not a text file; give a token prefix DIR/PREFIX (or DIR/PREFIX{IdsSuffix})")
                : (EmbeddingInputKind.Text, input);
        }
        var prefix = named ? input[..^IdsSuffix.Length] : input;
        if (File.Exists(prefix + IdsSuffix))
        {
            return (EmbeddingInputKind.TokenFiles, prefix);
        }
        throw new SkimConfigException($"--input '{input}': not found (expected a text file, or a token prefix with {prefix}{IdsSuffix} and {prefix}{MaskSuffix})");
    }

    /// <summary>Opens the text file at <paramref name="path"/> for on-the-fly tokenisation.</summary>
    public static Task<EmbeddingSource> OpenTextAsync(string path, ITextTokenizer tokenizer, string tokenizerSource, int maxLength, CancellationToken ct) =>
        TextSource.OpenAsync(path, tokenizer, tokenizerSource, maxLength, ct);

    /// <summary>Maps the token files of <paramref name="prefix"/>, checking that they are two int64 (N, L) arrays of one shape.</summary>
    public static EmbeddingSource OpenTokenFiles(string prefix) => TokenFileSource.Open(prefix);

    private sealed class TextSource : EmbeddingSource
    {
        private readonly StreamReader _reader;
        private readonly ITextTokenizer _tokenizer;
        private readonly BatchEncodeOptions _encode;
        private readonly string _path;
        private long _read;

        private TextSource(string path, long rows, ITextTokenizer tokenizer, string tokenizerSource, int maxLength)
        {
            _path = path;
            Rows = rows;
            _tokenizer = tokenizer;
            // Padding only to the batch's longest text is what the token-file path gets after
            // clipping, so both inputs compute exactly the same positions.
            _encode = new BatchEncodeOptions { MaxLength = maxLength, PadToMaxLength = false };
            Description = $"{path} (tokenizer {tokenizerSource}, max_len {maxLength})";
            _reader = OpenText(path);
        }

        public override EmbeddingInputKind Kind => EmbeddingInputKind.Text;

        public override long Rows { get; }

        public override string Description { get; }

        public static async Task<EmbeddingSource> OpenAsync(string path, ITextTokenizer tokenizer, string tokenizerSource, int maxLength, CancellationToken ct)
        {
            // The .npy header needs the row count before the first row, hence a counting pass.
            long rows = 0;
            using (var counter = OpenText(path))
            {
                while (await counter.ReadLineAsync(ct).ConfigureAwait(false) is not null)
                {
                    rows++;
                }
            }
            return new TextSource(path, rows, tokenizer, tokenizerSource, maxLength);
        }

        public override async ValueTask<EncodedBatch?> NextAsync(int batchSize, CancellationToken ct)
        {
            var texts = new List<string>(batchSize);
            while (texts.Count < batchSize && await _reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                // NGAME strips each line before tokenising (and so does `skim tokenize`).
                texts.Add(line.Trim());
            }
            _read += texts.Count;
            if (_read > Rows || (texts.Count < batchSize && _read != Rows))
            {
                throw new IOException($"{_path}: {_read} lines read but {Rows} counted; the file changed while it was being embedded");
            }
            return texts.Count == 0 ? null : _tokenizer.EncodeBatch(texts, _encode);
        }

        public override void Dispose() => _reader.Dispose();

        private static StreamReader OpenText(string path) =>
            new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
    }

    private sealed class TokenFileSource : EmbeddingSource
    {
        private readonly NpyMemoryMap _ids;
        private readonly NpyMemoryMap _mask;
        private readonly int _width;
        private long _next;

        private TokenFileSource(NpyMemoryMap ids, NpyMemoryMap mask, string prefix)
        {
            _ids = ids;
            _mask = mask;
            _width = (int)ids.RowLength;
            Description = $"{prefix}{IdsSuffix} + {MaskSuffix} ({ids.Header.ShapeText})";
        }

        public override EmbeddingInputKind Kind => EmbeddingInputKind.TokenFiles;

        public override long Rows => _ids.Rows;

        public override string Description { get; }

        public static TokenFileSource Open(string prefix)
        {
            var maskPath = prefix + MaskSuffix;
            if (!File.Exists(maskPath))
            {
                throw new SkimFormatException(maskPath, null, $"not found (token input needs {IdsSuffix} and {MaskSuffix} files with one prefix)");
            }
            var ids = NpyMemoryMap.Open(prefix + IdsSuffix);
            try
            {
                CheckShape(ids);
                var mask = NpyMemoryMap.Open(maskPath);
                try
                {
                    CheckShape(mask);
                    if (!mask.Header.Shape.SequenceEqual(ids.Header.Shape))
                    {
                        throw new SkimFormatException(maskPath, "shape", $"expected {ids.Header.ShapeText} as in {ids.Path}, found {mask.Header.ShapeText}");
                    }
                    return new TokenFileSource(ids, mask, prefix);
                }
                catch
                {
                    mask.Dispose();
                    throw;
                }
            }
            catch
            {
                ids.Dispose();
                throw;
            }
        }

        public override ValueTask<EncodedBatch?> NextAsync(int batchSize, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            var rows = (int)Math.Min(batchSize, Rows - _next);
            if (rows <= 0)
            {
                return ValueTask.FromResult<EncodedBatch?>(null);
            }
            var ids = _ids.ReadRows<long>(_next, rows);
            var mask = _mask.ReadRows<long>(_next, rows);
            _next += rows;
            return ValueTask.FromResult<EncodedBatch?>(new EncodedBatch(ids, mask, rows, _width));
        }

        public override void Dispose()
        {
            _ids.Dispose();
            _mask.Dispose();
        }

        private static void CheckShape(NpyMemoryMap file)
        {
            if (file.Header.DType != NpyDType.Int64 || file.Header.Rank != 2 || file.RowLength < 1 || file.RowLength > int.MaxValue)
            {
                throw new SkimFormatException(file.Path, "header", $"expected an int64 (N, L) array with L >= 1, found {file.Header.DType} {file.Header.ShapeText}");
            }
        }
    }
}
