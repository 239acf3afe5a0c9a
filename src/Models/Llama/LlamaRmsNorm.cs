using Skim.Models.Devices;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Llama;

/// <summary>
/// Mirrors transformers' <c>LlamaRMSNorm</c>: x / sqrt(mean(x²) + eps) computed in float32, cast
/// back to the input dtype, then scaled by <c>weight</c> (key <c>weight</c>, initialised to ones).
/// </summary>
internal sealed class LlamaRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;

    [ComponentName(Name = "weight")]
    private Parameter _weight;

    public LlamaRmsNorm(long size, double eps, Device? device = null, ScalarType? dtype = null)
        : base(nameof(LlamaRmsNorm))
    {
        _eps = eps;
        _weight = new Parameter(ones(size, dtype: dtype, device: device));
        RegisterComponents();
    }

    /// <summary>Gets the scale vector.</summary>
    public Parameter Weight => _weight;

    /// <summary>Replaces the scale vector with uninitialised memory of the same shape and dtype on <paramref name="device"/> (for a model built on the meta device that a load will fill).</summary>
    public void Materialize(Device device)
    {
        var weight = new Parameter(empty(_weight.shape, _weight.dtype, device));
        _weight.Dispose();
        _weight = weight;
        ConditionallyRegisterParameter("weight", _weight);
    }

    public override Tensor forward(Tensor input)
    {
        // Half-precision squares overflow and lose the mean's precision, hence float32 as in HF.
        using var x = input.to_type(ScalarType.Float32); // (B, T, H)
        using var squared = x.square(); // (B, T, H)
        using var meanSquare = squared.mean([-1L], keepdim: true); // (B, T, 1)
        using var s = new HeldScalars(); // twice per layer of every forward pass: see HeldScalars
        using var inverse = meanSquare.add(s[_eps], s[1]).rsqrt_();
        using var normed = x * inverse; // (B, T, H)
        using var cast = normed.to_type(input.dtype);
        return _weight * cast;
    }
}
