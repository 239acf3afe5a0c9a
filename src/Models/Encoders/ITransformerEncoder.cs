using static TorchSharp.torch;

namespace Skim.Models.Encoders;

/// <summary>A BERT-family encoder: token ids and a padding mask in, the last hidden state out.</summary>
public interface ITransformerEncoder
{
    /// <summary>Gets the width of the hidden states.</summary>
    int HiddenSize { get; }

    /// <summary>Gets the number of rows of the word-embedding matrix.</summary>
    int VocabSize { get; }

    /// <summary>Gets the longest sequence the position embeddings cover.</summary>
    int MaxPositions { get; }

    /// <summary>Computes the last hidden state (B, T, H) of <paramref name="inputIds"/> (B, T) under <paramref name="attentionMask"/> (B, T).</summary>
    Tensor forward(Tensor inputIds, Tensor attentionMask);
}
