using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Skim.Models.Optimization;

/// <summary>
/// The weights the optimizer updates. In float32 they are the model's trainable parameters
/// themselves. When the model computes in bf16 they are float32 copies (mixed precision's master
/// weights): gradients are widened into them, AdamW updates them, and the model gets them back
/// rounded, so that updates far smaller than bf16's resolution still add up over steps. Used by
/// fine-tuning and by <c>skim train --dtype bfloat16</c>: TorchSharp has no autocast, so this is
/// mixed precision by hand.
/// </summary>
public sealed class MasterWeights : IDisposable
{
    private readonly IReadOnlyList<Parameter> _model;
    private readonly bool _separate;

    private MasterWeights(IReadOnlyList<(string Name, Parameter Parameter)> trainable, bool separate)
    {
        _model = [.. trainable.Select(t => t.Parameter)];
        _separate = separate;
        if (separate)
        {
            using var noGrad = no_grad();
            Parameters = [.. trainable.Select(t => new Parameter(t.Parameter.detach().to_type(ScalarType.Float32).clone(), requires_grad: true))];
        }
        else
        {
            Parameters = _model;
        }
        Named = [.. trainable.Select((t, i) => (t.Name, (Tensor)Parameters[i]))];
    }

    /// <summary>Gets whether the masters are float32 copies (the model computes in another dtype).</summary>
    public bool Separate => _separate;

    /// <summary>Gets the parameters the optimizer holds, in the model's parameter order.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Gets the parameters under the model's state-dict names (what a checkpoint stores).</summary>
    public IReadOnlyList<(string Name, Tensor Value)> Named { get; }

    /// <summary>Wraps the trainable parameters of a model computing in <paramref name="dtype"/>.</summary>
    public static MasterWeights Create(IReadOnlyList<(string Name, Parameter Parameter)> trainable, ScalarType dtype) =>
        new(trainable, separate: dtype != ScalarType.Float32);

    /// <summary>Moves the model's accumulated gradients into the master weights (nothing to do in float32).</summary>
    public void TakeGradients()
    {
        if (!_separate)
        {
            return;
        }
        for (var i = 0; i < _model.Count; i++)
        {
            var gradient = _model[i].grad;
            Parameters[i].grad = gradient?.to_type(ScalarType.Float32);
        }
    }

    /// <summary>Clears the model's gradients when they are separate from the masters'.</summary>
    public void ZeroModelGradients()
    {
        if (!_separate)
        {
            return;
        }
        foreach (var parameter in _model)
        {
            parameter.grad = null;
        }
    }

    /// <summary>Overwrites the master weights with stored float32 values (a checkpoint's), by name; the model is not touched.</summary>
    /// <exception cref="KeyNotFoundException">A master's name is missing from <paramref name="values"/>.</exception>
    public void LoadValues(Func<string, Tensor> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var noGrad = no_grad();
        foreach (var (name, master) in Named)
        {
            using var value = values(name);
            master.copy_(value);
        }
    }

    /// <summary>Copies the master weights into the model (rounded to its dtype).</summary>
    public void CopyToModel()
    {
        if (!_separate)
        {
            return;
        }
        using var noGrad = no_grad();
        for (var i = 0; i < _model.Count; i++)
        {
            _model[i].copy_(Parameters[i]);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_separate)
        {
            foreach (var parameter in Parameters)
            {
                parameter.Dispose();
            }
        }
    }
}
