using Skim.Models.Devices;
using Skim.XcTrain.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.XcTrain.Classifiers.Miv;

/// <summary>How one M-IV step scores and updates (NGAME's loss settings and SparseAdam's constants).</summary>
/// <param name="Margin">Hinge margin (NGAME 0.2).</param>
/// <param name="Positives">Hardest positives per point (NGAME 3).</param>
/// <param name="Negatives">Hardest negatives per point (NGAME 5).</param>
/// <param name="Beta1">Adam's first-moment decay. PyTorch's default 0.9.</param>
/// <param name="Beta2">Adam's second-moment decay. PyTorch's default 0.999.</param>
/// <param name="Epsilon">Adam's denominator term. PyTorch's default 1e-8.</param>
public sealed record MivStepSettings(double Margin = 0.2, int Positives = 3, int Negatives = 5, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8);

/// <summary>
/// NGAME's M-IV classifier (<c>UNSSparseLinear</c> without the padding row): one vector per label,
/// scores <c>normalize(x) · normalize(W[U])ᵀ</c> over a batch's label set U, trained with
/// <see cref="TripletLosses.OnlineHardNegativeMiningMulti"/> and a sparse Adam update that reads and
/// writes only the rows of U, so a step costs O(|U|·D) whatever the number of labels.
/// </summary>
/// <remarks>
/// TorchSharp has no <c>SparseAdam</c> (nor sparse embedding gradients to feed one), so the update is
/// written here over the gathered rows, with <c>torch.optim.SparseAdam</c>'s arithmetic: one step
/// counter for the whole matrix, moments updated only where the batch has a gradient row,
/// <c>W[U] −= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m[U] / (√v[U] + ε)</c>. A dense Adam would decay every label's
/// moments and move every row on every step, which at a million labels is both wrong (NGAME's rows
/// outside the batch stay put) and slow.
/// </remarks>
public sealed class MivClassifier : IDisposable
{
    private readonly Tensor _weights; // (L, D)
    private readonly Tensor _firstMoment; // (L, D)
    private readonly Tensor _secondMoment; // (L, D)

    /// <summary>Creates a classifier with the given (labels × dimension) row-major vectors and zero Adam state.</summary>
    public MivClassifier(float[] weights, int labels, int dimension, string device = "cpu")
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.LongLength != (long)labels * dimension)
        {
            throw new ArgumentException($"{labels} x {dimension} classifier vectors need {(long)labels * dimension} values, found {weights.LongLength}", nameof(weights));
        }
        Labels = labels;
        Dimension = dimension;
        Device = TorchDevices.ParseDevice(device);
        _weights = RowMajor.ToTensor(weights, labels, dimension, Device);
        _firstMoment = zeros([labels, dimension], ScalarType.Float32, Device).DetachFromDisposeScope();
        _secondMoment = zeros([labels, dimension], ScalarType.Float32, Device).DetachFromDisposeScope();
    }

    /// <summary>Gets the number of labels.</summary>
    public int Labels { get; }

    /// <summary>Gets the vector size.</summary>
    public int Dimension { get; }

    /// <summary>Gets the device the vectors live on.</summary>
    public Device Device { get; }

    /// <summary>Gets the optimizer steps taken (SparseAdam's shared step count).</summary>
    public long Steps { get; private set; }

    /// <summary>
    /// Creates the classifier NGAME starts from: each label's vector is its L2-normalised label
    /// embedding (a zero embedding stays zero).
    /// </summary>
    public static MivClassifier FromLabelEmbeddings(float[] labelEmbeddings, int labels, int dimension, string device = "cpu")
    {
        ArgumentNullException.ThrowIfNull(labelEmbeddings);
        return new MivClassifier(NormalizeRows(labelEmbeddings, dimension), labels, dimension, device);
    }

    /// <summary>Returns a row-major copy with every row scaled to unit length (zero rows stay zero).</summary>
    public static float[] NormalizeRows(ReadOnlySpan<float> values, int dimension)
    {
        var result = values.ToArray();
        NormalizeRowsInPlace(result, dimension);
        return result;
    }

    /// <summary>Scales every row of <paramref name="values"/> to unit length in place (zero rows stay zero).</summary>
    public static void NormalizeRowsInPlace(Span<float> values, int dimension)
    {
        for (var start = 0; start < values.Length; start += dimension)
        {
            var row = values.Slice(start, dimension);
            double norm = 0;
            foreach (var v in row)
            {
                norm += (double)v * v;
            }
            if (norm > 0)
            {
                var scale = (float)(1 / Math.Sqrt(norm));
                for (var j = 0; j < row.Length; j++)
                {
                    row[j] *= scale;
                }
            }
        }
    }

    /// <summary>Gets a row-major copy of the classifier vectors (labels × dimension).</summary>
    public float[] WeightsArray() => RowMajor.FromTensor(_weights);

    /// <summary>Gets row-major copies of Adam's first and second moments.</summary>
    public (float[] First, float[] Second) MomentArrays() => (RowMajor.FromTensor(_firstMoment), RowMajor.FromTensor(_secondMoment));

    /// <summary>Restores vectors, moments and the step count saved by a checkpoint.</summary>
    public void LoadState(float[] weights, float[] firstMoment, float[] secondMoment, long steps)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(firstMoment);
        ArgumentNullException.ThrowIfNull(secondMoment);
        Copy(weights, _weights);
        Copy(firstMoment, _firstMoment);
        Copy(secondMoment, _secondMoment);
        Steps = steps;
    }

    /// <summary>
    /// One training step: scores the (B, D) point embeddings (dropout already applied) against the
    /// label set, takes NGAME's multi-positive hinge loss, and applies the sparse Adam update to the
    /// rows of <paramref name="labelSet"/> only.
    /// </summary>
    /// <param name="points">(B, D) point embeddings on <see cref="Device"/>.</param>
    /// <param name="labelSet">The batch's distinct labels U (classifier rows), in column order.</param>
    /// <param name="targets">(B, |U|) 0/1 targets: 1 where the column's label is a positive of the row.</param>
    /// <param name="learningRate">This step's learning rate.</param>
    /// <param name="settings">Loss and Adam settings.</param>
    /// <returns>The loss before the update.</returns>
    public double Step(Tensor points, long[] labelSet, Tensor targets, double learningRate, MivStepSettings settings)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(labelSet);
        ArgumentNullException.ThrowIfNull(settings);
        using var scope = NewDisposeScope();
        var ids = tensor(labelSet, device: Device); // (U)
        var rows = _weights.index_select(0, ids).detach().requires_grad_(true); // (U, D)
        var scores = Scores(points, rows); // (B, U)
        var loss = TripletLosses.OnlineHardNegativeMiningMulti(scores, targets, settings.Margin, settings.Positives, settings.Negatives); // ()
        loss.backward();
        using (no_grad())
        {
            var gradient = rows.grad!; // (U, D)
            Steps++;
            var first = _firstMoment.index_select(0, ids); // (U, D)
            var second = _secondMoment.index_select(0, ids); // (U, D)
            // Every scalar is held for the whole update: see HeldScalars.
            using var s = new HeldScalars();
            // SparseAdam's order of operations: m += (g − m)(1 − β₁), v += (g² − v)(1 − β₂).
            first = first.add(gradient.sub(first).mul(s[1 - settings.Beta1]), s[1]);
            second = second.add(gradient.square().sub(second).mul(s[1 - settings.Beta2]), s[1]);
            _firstMoment.index_copy_(0, ids, first);
            _secondMoment.index_copy_(0, ids, second);
            var correction1 = 1 - Math.Pow(settings.Beta1, Steps);
            var correction2 = 1 - Math.Pow(settings.Beta2, Steps);
            var stepSize = learningRate * Math.Sqrt(correction2) / correction1;
            var updated = rows.detach().sub(first.div(second.sqrt().add(s[settings.Epsilon], s[1])).mul(s[stepSize])); // (U, D)
            _weights.index_copy_(0, ids, updated);
        }
        return loss.item<float>();
    }

    /// <summary>The cosine scores NGAME's classifier computes: <c>normalize(x) · normalize(w)ᵀ</c>.</summary>
    /// <param name="points">(B, D) point embeddings.</param>
    /// <param name="rows">(U, D) classifier rows.</param>
    /// <returns>(B, U) scores.</returns>
    public static Tensor Scores(Tensor points, Tensor rows)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(rows);
        var x = nn.functional.normalize(points, 2, 1); // (B, D)
        var w = nn.functional.normalize(rows, 2, 1); // (U, D)
        return x.mm(w.t()); // (B, U)
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _weights.Dispose();
        _firstMoment.Dispose();
        _secondMoment.Dispose();
    }


    private void Copy(float[] values, Tensor into)
    {
        if (values.LongLength != into.NumberOfElements)
        {
            throw new ArgumentException($"expected {into.NumberOfElements} values ({Labels} x {Dimension}), found {values.LongLength}", nameof(values));
        }
        using var scope = NewDisposeScope();
        using var host = tensor(values, into.shape, ScalarType.Float32);
        using (no_grad())
        {
            into.copy_(host);
        }
    }
}
