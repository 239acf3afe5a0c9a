namespace Skim.XcTrain.Training;

/// <summary>
/// The learning-rate factor of Hugging Face's <c>get_linear_schedule_with_warmup</c>, which DEXML
/// and NGAME use: a linear rise from 0 over the warm-up updates, then a linear fall to 0 at the last
/// update.
/// </summary>
/// <param name="TotalSteps">Optimizer updates in the whole run.</param>
/// <param name="WarmupSteps">Updates of the warm-up.</param>
public readonly record struct LinearSchedule(long TotalSteps, long WarmupSteps)
{
    /// <summary>Creates the schedule of <paramref name="totalSteps"/> updates with a warm-up share of <paramref name="warmupFraction"/>.</summary>
    public static LinearSchedule Create(long totalSteps, double warmupFraction) =>
        new(totalSteps, (long)Math.Floor(totalSteps * warmupFraction));

    /// <summary>Gets the factor applied to the peak learning rate at update <paramref name="step"/> (0-based).</summary>
    public double Factor(long step)
    {
        if (step < WarmupSteps)
        {
            return (double)step / Math.Max(1, WarmupSteps);
        }
        return Math.Max(0.0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - WarmupSteps));
    }
}
