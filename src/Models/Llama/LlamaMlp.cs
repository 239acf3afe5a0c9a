using Skim.Models.Lora;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Llama;

/// <summary>
/// Mirrors transformers' <c>LlamaMLP</c> (SwiGLU): down_proj(silu(gate_proj(x)) · up_proj(x)), weights
/// <c>gate_proj</c>, <c>up_proj</c>, <c>down_proj</c>. The projections are typed as modules so that
/// LoRA can replace any of them in place.
/// </summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>, ILoraHost
{
    [ComponentName(Name = "gate_proj")]
    private nn.Module<Tensor, Tensor> _gateProj;

    [ComponentName(Name = "up_proj")]
    private nn.Module<Tensor, Tensor> _upProj;

    [ComponentName(Name = "down_proj")]
    private nn.Module<Tensor, Tensor> _downProj;

    public LlamaMlp(LlamaConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(LlamaMlp))
    {
        _gateProj = nn.Linear(config.HiddenSize, config.IntermediateSize, config.MlpBias, device, dtype);
        _upProj = nn.Linear(config.HiddenSize, config.IntermediateSize, config.MlpBias, device, dtype);
        _downProj = nn.Linear(config.IntermediateSize, config.HiddenSize, config.MlpBias, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var gate = _gateProj.forward(input); // (B, T, I)
        using var activated = nn.functional.silu(gate);
        using var up = _upProj.forward(input); // (B, T, I)
        using var product = activated * up;
        return _downProj.forward(product); // (B, T, H)
    }

    /// <inheritdoc />
    public IEnumerable<string> ProjectionNames => ["gate_proj", "up_proj", "down_proj"];

    /// <inheritdoc />
    public void ReplaceProjection(string name, Func<nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>> replace)
    {
        switch (name)
        {
            case "gate_proj":
                _gateProj = LoraHost.Swap(this, name, _gateProj, replace);
                break;
            case "up_proj":
                _upProj = LoraHost.Swap(this, name, _upProj, replace);
                break;
            case "down_proj":
                _downProj = LoraHost.Swap(this, name, _downProj, replace);
                break;
            default:
                throw new ArgumentException($"LlamaMLP has no projection '{name}'", nameof(name));
        }
    }
}
