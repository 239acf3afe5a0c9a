using Skim.Models.Devices;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Lora;

/// <summary>
/// A frozen linear layer plus a trainable low-rank update (Hu et al., 2021, arXiv:2106.09685),
/// in the style of litgpt's <c>LoRALinear</c>:
/// <code>
///   x ──► W (frozen, out×in) ─────────────┐
///   └──► dropout ─► A (r×in) ─► B (out×r) ─► × alpha/r ─► (+) ─► y
/// </code>
/// A starts random (Kaiming-uniform, as PEFT does) and B at zero, so a fresh adapter changes nothing.
/// Keys: the base layer's <c>weight</c>/<c>bias</c> stay under their HF names; the adapter adds
/// <c>lora_A.weight</c> and <c>lora_B.weight</c>, PEFT's names.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;

    [ComponentName(Name = "bias")]
    private readonly Parameter? _bias;

    [ComponentName(Name = "lora_A")]
    private readonly Linear _loraA;

    [ComponentName(Name = "lora_B")]
    private readonly Linear _loraB;

    private readonly Dropout _dropout;

    /// <summary>Wraps <paramref name="linear"/>'s parameters (shared, not copied) and freezes them.</summary>
    /// <param name="linear">The base layer.</param>
    /// <param name="options">Rank, alpha and dropout.</param>
    /// <param name="generator">Draws A's initial values; null uses the global generator.</param>
    public LoraLinear(Linear linear, LoraOptions options, Generator? generator = null)
        : base(nameof(LoraLinear))
    {
        ArgumentNullException.ThrowIfNull(linear);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _weight = linear.weight!;
        _bias = linear.bias;
        _weight.requires_grad = false;
        if (_bias is not null)
        {
            _bias.requires_grad = false;
        }
        var (outFeatures, inFeatures) = (_weight.shape[0], _weight.shape[1]);
        Rank = options.Rank;
        Scaling = options.Scaling;
        _loraA = nn.Linear(inFeatures, options.Rank, hasBias: false, _weight.device, _weight.dtype);
        _loraB = nn.Linear(options.Rank, outFeatures, hasBias: false, _weight.device, _weight.dtype);
        using (no_grad())
        {
            // Kaiming-uniform with a = sqrt(5), PEFT's default for A: bound = 1 / sqrt(fan_in).
            var bound = 1.0 / Math.Sqrt(inFeatures);
            using var uniform = rand(_loraA.weight!.shape, ScalarType.Float32, generator: generator);
            using var scaled = uniform * (2 * bound) - bound;
            _loraA.weight!.copy_(scaled);
            _loraB.weight!.zero_();
        }
        _dropout = nn.Dropout(options.Dropout);
        RegisterComponents();
    }

    /// <summary>Gets the rank r.</summary>
    public int Rank { get; }

    /// <summary>Gets the factor alpha / r.</summary>
    public double Scaling { get; }

    /// <summary>Gets whether the update is currently folded into the base weight.</summary>
    public bool Merged { get; private set; }

    /// <summary>Gets the base weight (out, in).</summary>
    public Parameter Weight => _weight;

    /// <summary>Gets A (r, in).</summary>
    public Parameter LoraA => _loraA.weight!;

    /// <summary>Gets B (out, r).</summary>
    public Parameter LoraB => _loraB.weight!;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var baseOutput = nn.functional.linear(input, _weight, _bias); // (B, T, out)
        if (Merged)
        {
            return baseOutput;
        }
        using (baseOutput)
        using (var dropped = _dropout.forward(input))
        using (var down = _loraA.forward(dropped)) // (B, T, r)
        using (var up = _loraB.forward(down)) // (B, T, out)
        using (var s = new HeldScalars()) // every forward pass: see HeldScalars
        {
            return baseOutput.add(up, s[Scaling]);
        }
    }

    /// <summary>Returns W + (alpha/r)·B·A as a new tensor (out, in) without changing the layer.</summary>
    public Tensor MergedWeight()
    {
        using var noGrad = no_grad();
        if (Merged)
        {
            return _weight.detach().clone();
        }
        using var s = new HeldScalars(); // see HeldScalars
        using var delta = Delta(s);
        return _weight.detach().add(delta, s[1]);
    }

    /// <summary>Folds the update into the base weight, so inference costs one matmul; does nothing when already merged.</summary>
    public void Merge()
    {
        if (Merged)
        {
            return;
        }
        using (no_grad())
        using (var s = new HeldScalars())
        using (var delta = Delta(s))
        {
            _weight.add_(delta, s[1]);
        }
        Merged = true;
    }

    /// <summary>Takes the update back out of the base weight; does nothing when not merged.</summary>
    public void Unmerge()
    {
        if (!Merged)
        {
            return;
        }
        using (no_grad())
        using (var s = new HeldScalars())
        using (var delta = Delta(s))
        {
            _weight.sub_(delta);
        }
        Merged = false;
    }

    // (alpha/r) · B (out, r) @ A (r, in), in the base weight's dtype.
    private Tensor Delta(HeldScalars s)
    {
        using var product = _loraB.weight!.matmul(_loraA.weight!); // (out, in)
        using var scaled = product.mul(s[Scaling]);
        return scaled.to_type(_weight.dtype);
    }
}
