namespace Skim.Distill.FineTuning;

/// <summary>
/// litgpt's fine-tuning schedule: a linear warm-up to the peak learning rate, then a cosine decay
/// to the minimum at the last step.
/// </summary>
/// <param name="Peak">The learning rate at the end of the warm-up.</param>
/// <param name="Minimum">The learning rate the decay ends at.</param>
/// <param name="WarmupSteps">Optimizer steps of the warm-up.</param>
/// <param name="TotalSteps">Optimizer steps of the whole run.</param>
public readonly record struct CosineSchedule(double Peak, double Minimum, long WarmupSteps, long TotalSteps)
{
    /// <summary>Gets the learning rate of optimizer step <paramref name="step"/> (0-based).</summary>
    public double At(long step)
    {
        if (step < WarmupSteps)
        {
            return Peak * (step + 1) / WarmupSteps;
        }
        var span = Math.Max(1, TotalSteps - WarmupSteps);
        var progress = Math.Clamp((double)(step - WarmupSteps) / span, 0, 1);
        return Minimum + ((Peak - Minimum) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
