namespace Skim.Models.Encoders;

/// <summary>Where <see cref="EmbeddingJob"/> read its input from.</summary>
public enum EmbeddingInputKind
{
    /// <summary>A text file, tokenised on the fly.</summary>
    Text,

    /// <summary>NGAME token files <c>PREFIX_input_ids.npy</c> + <c>PREFIX_attention_mask.npy</c>, memory-mapped.</summary>
    TokenFiles,
}

/// <summary>What <see cref="EmbeddingJob"/> wrote.</summary>
/// <param name="OutputPath">The (Rows, Dimension) <c>.npy</c> file.</param>
/// <param name="Rows">The number of embedded texts.</param>
/// <param name="Dimension">The embedding width.</param>
/// <param name="OutputDType">The rows' dtype: float32 or float16.</param>
/// <param name="Input">The kind of input.</param>
/// <param name="InputDescription">The input file(s) and, for text, the tokenizer folder, for reports.</param>
/// <param name="Device">The device the model ran on, e.g. "cpu" or "cuda:0".</param>
/// <param name="Tokens">Real (unpadded) tokens embedded.</param>
/// <param name="ComputedTokens">Token positions computed after clipping each batch to its longest row.</param>
/// <param name="Elapsed">Wall time, model loading included.</param>
public sealed record EmbeddingResult(
    string OutputPath,
    long Rows,
    int Dimension,
    string OutputDType,
    EmbeddingInputKind Input,
    string InputDescription,
    string Device,
    long Tokens,
    long ComputedTokens,
    TimeSpan Elapsed);
