using Skim.Models.Devices;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.Models.Optimization;

/// <summary>
/// TorchSharp's AdamW with the same arithmetic, parameter groups, state and state-dict format, whose
/// step passes every scalar through <see cref="HeldScalars"/>.
/// </summary>
/// <remarks>
/// TorchSharp's own step creates about seven implicit <see cref="Scalar"/>s per parameter per step
/// (<c>mul_(beta1)</c>, <c>add_(grad, alpha: 1 - beta1)</c>, <c>addcdiv_(…, value: -step)</c>, …): in a
/// training run the optimizer makes more of them than every forward pass together, and each is a
/// chance for the finalizer race <see cref="HeldScalars"/> describes. Only <c>step</c> is replaced.
/// The class is named AdamW because TorchSharp writes the optimizer's class name into a saved state
/// dict and refuses another on load: so checkpoints written by either class load into the other.
/// </remarks>
public sealed class AdamW : TorchSharp.Modules.AdamW
{
    /// <summary>Creates the optimizer over parameter groups (TorchSharp's <c>optim.AdamW</c> signature).</summary>
    public AdamW(IEnumerable<ParamGroup> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0)
        : base(parameters, lr, beta1, beta2, eps, weight_decay)
    {
    }

    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null)
    {
        return _step<ParamGroup>(group =>
        {
            var options = (Options)group.Options;
            var beta1 = options.beta1!.Value;
            var beta2 = options.beta2!.Value;
            var weightDecay = options.weight_decay!.Value;
            var eps = options.eps!.Value;
            var lr = options.LearningRate!.Value;
            if (options.amsgrad == true || options.maximize == true)
            {
                // Neither is used by Skim; TorchSharp's step keeps them right.
                throw new NotSupportedException("Skim's AdamW implements AdamW without amsgrad and maximize");
            }
            using var s = new HeldScalars();
            foreach (var param in group.Parameters)
            {
                var grad = param.grad;
                if (grad is null)
                {
                    continue;
                }
                var state = (State)_state[param.Handle];
                state.step += 1;
                param.mul_(s[1 - (lr * weightDecay)]);
                var correction1 = 1 - Math.Pow(beta1, state.step);
                var correction2 = 1 - Math.Pow(beta2, state.step);
                state.exp_avg.mul_(s[beta1]).add_(grad, s[1 - beta1]);
                state.exp_avg_sq.mul_(s[beta2]).addcmul_(grad, grad, s[1 - beta2]);
                var denominator = state.exp_avg_sq.sqrt().div_(s[Math.Sqrt(correction2)]).add_(s[eps], s[1]);
                param.addcdiv_(state.exp_avg, denominator, s[-(lr / correction1)]);
            }
        }, closure);
    }
}
