using static TorchSharp.torch;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// Chooses the negative label columns of one training step of a DEXML-style dual encoder, beyond
/// the in-batch negatives (the other rows' sampled positives). Made by <see cref="NegativeSamplers.Create"/>.
/// </summary>
/// <remarks>
/// <para>One step, in the order a trainer calls the members:</para>
/// <list type="number">
/// <item>Sample each row's positives (<see cref="PositiveSampler"/>); P = their unique ids.</item>
/// <item><c>extra = DrawLabels(positives, numLabels, random)</c>: distinct ids, none in P.</item>
/// <item>Encode the columns P ∪ extra WITH gradient: E (C, D).</item>
/// <item><c>(synthetic, syntheticIds) = SyntheticColumns(E, ids of E, random)</c>: columns made from
/// E, WITH gradient through E (Batch-Mix), or (null, []). Their ids are negative (−1, −2, …): a
/// synthetic column is no label, so it is never a positive of any row.</item>
/// <item><c>(memory, memoryIds) = MemoryColumns(device)</c>: extra columns WITHOUT gradient, none of
/// whose ids is in P ∪ extra (a label appears once among the columns).</item>
/// <item>Scores = q·[E; synthetic; memory]ᵀ / τ, plus <c>ColumnLogitCorrection(all column ids, device)</c> when
/// that is not null, then the loss, backward and optimiser step.</item>
/// <item><c>Remember(E.detach(), ids of E)</c>.</item>
/// </list>
/// <para>Everything random comes from the <see cref="Random"/> the trainer passes, so a run is
/// reproducible from its seed; <see cref="SaveState"/> after the last step captures what a resume
/// needs. Calls out of this order are refused with an <see cref="InvalidOperationException"/> where
/// skipping one would silently change the method (Batch-Mix without its synthetic columns).</para>
/// </remarks>
public interface INegativeSampler : IDisposable
{
    /// <summary>Gets the kebab-case name the sampler was created with (e.g. <c>cross-batch</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Returns extra label ids to encode WITH gradient this step, besides the batch's sampled
    /// positives (e.g. MNS's uniform draws): distinct, in [0, <paramref name="numLabels"/>), none a
    /// sampled positive. May be empty.
    /// </summary>
    /// <param name="batchPositiveLabels">The positives sampled for the batch's rows, one entry per draw (duplicates allowed; unique ids work too).</param>
    /// <param name="numLabels">The number of labels L.</param>
    /// <param name="random">The step's source of randomness.</param>
    int[] DrawLabels(IReadOnlyList<int> batchPositiveLabels, int numLabels, Random random);

    /// <summary>
    /// Returns columns synthesised from this step's label embeddings, WITH gradient through them
    /// (Batch-Mix's mixed negatives), and their ids (negative: −1, −2, …, never a positive), or (null, []).
    /// </summary>
    /// <param name="labelEmbeddings">The (C, D) label embeddings encoded this step, with gradient.</param>
    /// <param name="labelIds">Their label ids.</param>
    /// <param name="random">The step's source of randomness.</param>
    (Tensor? Embeddings, int[] LabelIds) SyntheticColumns(Tensor labelEmbeddings, IReadOnlyList<int> labelIds, Random random);

    /// <summary>
    /// Returns extra columns WITHOUT gradient: (B_mem, D) float32 embeddings on
    /// <paramref name="device"/> (the caller owns the tensor) and their label ids, or (null, []).
    /// </summary>
    (Tensor? Embeddings, int[] LabelIds) MemoryColumns(Device device);

    /// <summary>
    /// Returns the (C,) float32 additive correction of the scaled logits (after dividing by τ) for
    /// the columns with ids <paramref name="columnLabelIds"/> (this step's encoded, synthetic and
    /// memory columns, in score order), or null when the sampler needs none. Added to every row's
    /// scores, positives included, as the logQ correction of sampled softmax: s − log Q(y) with Q
    /// the probability the sampler puts on label y (Bengio and Senécal 2008; Yi et al. 2019).
    /// </summary>
    Tensor? ColumnLogitCorrection(IReadOnlyList<int> columnLabelIds, Device device);

    /// <summary>
    /// Takes the (C, D) label embeddings computed this step and their ids, after the optimiser
    /// step. The sampler keeps detached float32 copies where it needs them (memory kinds).
    /// </summary>
    void Remember(Tensor labelEmbeddings, IReadOnlyList<int> labelIds);

    /// <summary>Captures what continuing exactly after a resume needs (memory bank contents and ids).</summary>
    SamplerState SaveState();

    /// <summary>Restores a state from <see cref="SaveState"/> of a sampler with the same name.</summary>
    /// <exception cref="Skim.Core.SkimConfigException">The state belongs to another kind of sampler or does not fit its options.</exception>
    void LoadState(SamplerState state);
}
