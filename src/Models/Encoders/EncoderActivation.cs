using Skim.Core;
using static TorchSharp.torch;

namespace Skim.Models.Encoders;

/// <summary>The feed-forward activations BERT-family configs name (<c>hidden_act</c> / <c>activation</c>), as HF's ACT2FN maps them.</summary>
internal static class EncoderActivation
{
    /// <summary>Refuses an activation this code does not implement, naming the key.</summary>
    public static void Validate(string path, string key, string name)
    {
        if (name is not ("gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu"))
        {
            throw new SkimFormatException(path, $"key '{key}'", $"unsupported activation \"{name}\" (expected gelu, gelu_new, gelu_pytorch_tanh or relu)");
        }
    }

    /// <summary>Applies the activation. HF's "gelu" is the exact erf form; "gelu_new" and "gelu_pytorch_tanh" are the tanh approximation.</summary>
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "gelu" => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => nn.functional.relu(x),
        _ => throw new NotSupportedException($"activation {name}"),
    };
}
