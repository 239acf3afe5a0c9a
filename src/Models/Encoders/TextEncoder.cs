using Skim.Core;
using Skim.Core.Formats.HfConfig;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.Bert;
using Skim.Models.Devices;
using Skim.Models.DistilBert;
using Skim.Models.Weights;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Skim.Models.Encoders;

/// <summary>
/// A BERT-family sentence encoder ready to embed token batches: the transformer, a pooling
/// (mean or cls), an optional linear projection and optional L2 normalisation. Load one from a
/// Hugging Face checkpoint folder (config.json + safetensors, or a PyTorch state dict such as
/// NGAME's <c>ngame_state_dict.pt</c>) with <see cref="Load"/>.
/// </summary>
public sealed class TextEncoder : IDisposable
{
    /// <summary>The checkpoint key prefix of the optional projection (<c>projection.weight</c>, <c>projection.bias</c>).</summary>
    public const string ProjectionPrefix = "projection.";

    private readonly nn.Module<Tensor, Tensor, Tensor> _model;
    private readonly ITransformerEncoder _encoder;
    private readonly Linear? _projection;
    private readonly ScalarType _outputDType;

    /// <summary>Wraps an already-built model (and optional projection) placed on <paramref name="device"/>.</summary>
    /// <param name="model">A <see cref="BertModel"/> or <see cref="DistilBertModel"/>.</param>
    /// <param name="projection">A Linear applied after pooling, or null.</param>
    /// <param name="options">Pooling, normalisation and output dtype.</param>
    /// <param name="device">The device the model lives on.</param>
    public TextEncoder(nn.Module<Tensor, Tensor, Tensor> model, Linear? projection, TextEncoderOptions options, Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _encoder = model as ITransformerEncoder ?? throw new ArgumentException("the model must implement ITransformerEncoder", nameof(model));
        _projection = projection;
        Options = options;
        Device = device;
        _outputDType = TorchDevices.ParseDType(options.OutputDType, "--output-dtype");
        _model.eval();
        _projection?.eval();
    }

    /// <summary>Gets the options the encoder was built with.</summary>
    public TextEncoderOptions Options { get; }

    /// <summary>Gets the device the model computes on.</summary>
    public Device Device { get; }

    /// <summary>Gets the transformer.</summary>
    public ITransformerEncoder Model => _encoder;

    /// <summary>Gets the width of the returned embeddings (the projection's output, else the hidden size).</summary>
    public int Dimension => _projection is null ? _encoder.HiddenSize : (int)_projection.weight!.shape[0];

    /// <summary>Gets the checkpoint keys that were deliberately not loaded (task heads, index buffers), for reports.</summary>
    public IReadOnlyList<string> IgnoredKeys { get; private init; } = [];

    /// <summary>
    /// Loads a checkpoint folder: config.json (model_type bert or distilbert) and its weights,
    /// mapped through <see cref="HfKeyMap"/> and loaded strictly in the dtype and on the device of
    /// <paramref name="options"/>.
    /// </summary>
    /// <exception cref="SkimFormatException">config.json is missing or invalid, the model_type is not supported, or the weights do not fit.</exception>
    /// <exception cref="SkimConfigException">An option is invalid.</exception>
    public static TextEncoder Load(string modelDirectory, TextEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        options ??= new TextEncoderOptions();
        options.Validate();
        if (!Directory.Exists(modelDirectory))
        {
            throw new SkimFormatException(modelDirectory, null, "no such model folder");
        }
        var device = TorchDevices.ParseDevice(options.Device);
        var dtype = TorchDevices.ParseDType(options.DType);
        var configPath = Path.Combine(modelDirectory, "config.json");
        var modelType = ReadModelType(configPath);
        using var weights = WeightFiles.Open(options.WeightsPath ?? modelDirectory);
        var mapped = HfKeyMap.MapEncoder(weights.Tensors, modelType, weights.Path);
        var modelWeights = mapped.Tensors.Where(e => !e.Key.StartsWith(ProjectionPrefix, StringComparison.Ordinal)).ToDictionary();
        var projectionWeights = mapped.Tensors.Where(e => e.Key.StartsWith(ProjectionPrefix, StringComparison.Ordinal))
            .ToDictionary(e => e.Key[ProjectionPrefix.Length..], e => e.Value);
        nn.Module<Tensor, Tensor, Tensor> model = modelType switch
        {
            "bert" => new BertModel(BertConfig.Read(configPath), modelWeights.ContainsKey("pooler.dense.weight"), device, dtype),
            _ => new DistilBertModel(DistilBertConfig.Read(configPath), device, dtype),
        };
        Linear? projection = null;
        try
        {
            WeightLoader.LoadStrict(model, modelWeights, weights.Path);
            if (projectionWeights.TryGetValue("weight", out var projectionWeight))
            {
                var hidden = ((ITransformerEncoder)model).HiddenSize;
                if (projectionWeight.Shape.Count != 2 || projectionWeight.Shape[1] != hidden)
                {
                    throw new SkimFormatException(weights.Path, $"key '{ProjectionPrefix}weight'", $"expected shape [D, {hidden}], found {projectionWeight.ShapeText}");
                }
                projection = nn.Linear(hidden, projectionWeight.Shape[0], hasBias: projectionWeights.ContainsKey("bias"), device: device, dtype: dtype);
                WeightLoader.LoadStrict(projection, projectionWeights, weights.Path);
            }
            else if (projectionWeights.Count > 0)
            {
                throw new SkimFormatException(weights.Path, null, $"weights do not fit the projection: 1 missing key: {ProjectionPrefix}weight");
            }
            return new TextEncoder(model, projection, options, device) { IgnoredKeys = mapped.Ignored };
        }
        catch
        {
            model.Dispose();
            projection?.Dispose();
            throw;
        }
    }

    /// <summary>Reads config.json's model_type and refuses anything but bert and distilbert, naming it.</summary>
    public static string ReadModelType(string configPath)
    {
        var modelType = HfConfigFile.Read(configPath).GetStringOrNull("model_type")
            ?? throw new SkimFormatException(configPath, "key 'model_type'", "missing (expected \"bert\" or \"distilbert\")");
        return modelType is "bert" or "distilbert"
            ? modelType
            : throw new SkimFormatException(configPath, "key 'model_type'", $"unsupported \"{modelType}\" (expected \"bert\" or \"distilbert\")");
    }

    /// <summary>
    /// Refuses a tokenizer that can produce ids the word-embedding matrix has no row for.
    /// (A matrix larger than the vocabulary is fine: checkpoints often pad it.)
    /// </summary>
    /// <param name="tokenizerVocabularySize">The number of ids the tokenizer can produce.</param>
    /// <param name="tokenizerSource">The tokenizer's folder or file, for the message.</param>
    public void CheckTokenizer(int tokenizerVocabularySize, string tokenizerSource)
    {
        if (tokenizerVocabularySize > _encoder.VocabSize)
        {
            throw new SkimFormatException(tokenizerSource, null, $"tokenizer has {tokenizerVocabularySize} ids but the model's word embeddings have {_encoder.VocabSize} rows (vocab_size); they belong to different models");
        }
    }

    /// <summary>Embeds one batch.</summary>
    /// <param name="inputIds">(B, T) int64 token ids, any device.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask, any device.</param>
    /// <returns>(B, D) embeddings on the CPU in the output dtype; the caller disposes them.</returns>
    /// <exception cref="SkimException">Shapes disagree, the sequence is longer than the model's positions, or an id is out of the vocabulary.</exception>
    public Tensor Embed(Tensor inputIds, Tensor attentionMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        Check(inputIds, attentionMask);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var ids = inputIds.to(ScalarType.Int64, Device);
        var mask = attentionMask.to(Device);
        var hidden = _encoder.forward(ids, mask); // (B, T, H)
        var pooled = Pooling.Apply(hidden, mask, Options.Pooling); // (B, H)
        if (_projection is not null)
        {
            pooled = _projection.forward(pooled); // (B, D)
        }
        pooled = pooled.to_type(ScalarType.Float32);
        if (Options.Normalize)
        {
            pooled = Pooling.Normalize(pooled);
        }
        return pooled.to(_outputDType, CPU).MoveToOuterDisposeScope();
    }

    /// <summary>Gets the transformer module (for training: its parameters, train/eval mode and state dict).</summary>
    public nn.Module<Tensor, Tensor, Tensor> Transformer => _model;

    /// <summary>Gets the projection after pooling, or null.</summary>
    public Linear? Projection => _projection;

    /// <summary>Gets every trainable parameter with its state-dict name (projection ones prefixed <see cref="ProjectionPrefix"/>).</summary>
    public IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> NamedParameters() =>
        _model.named_parameters().Concat(_projection?.named_parameters().Select(p => (ProjectionPrefix + p.name, p.parameter)) ?? []);

    /// <summary>Puts the transformer (and projection) in training mode (dropout on) or evaluation mode.</summary>
    public void SetTraining(bool training)
    {
        _model.train(training);
        _projection?.train(training);
    }

    /// <summary>
    /// The differentiable forward pass that training uses: the same pooling, projection and
    /// normalisation as <see cref="Embed"/>, but with autograd, on the model's device, in float32,
    /// in whatever train/eval mode is set. Inputs must already be on <see cref="Device"/>.
    /// </summary>
    /// <param name="inputIds">(B, T) int64 token ids.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask.</param>
    /// <returns>(B, D) float32 embeddings.</returns>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        using var scope = NewDisposeScope();
        var hidden = _encoder.forward(inputIds, attentionMask); // (B, T, H)
        var pooled = Pooling.Apply(hidden, attentionMask, Options.Pooling); // (B, H)
        if (_projection is not null)
        {
            pooled = _projection.forward(pooled); // (B, D)
        }
        pooled = pooled.to_type(ScalarType.Float32);
        if (Options.Normalize)
        {
            pooled = Pooling.Normalize(pooled);
        }
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>Embeds row-major (rows, width) ids and mask (for example an <c>EncodedBatch</c>) into float32 rows.</summary>
    /// <returns>rows × <see cref="Dimension"/> float32 values, row-major.</returns>
    public float[] EmbedToArray(long[] inputIds, long[] attentionMask, int rows, int width)
    {
        using var scope = NewDisposeScope();
        var ids = tensor(inputIds, [rows, width]);
        var mask = tensor(attentionMask, [rows, width]);
        var embeddings = Embed(ids, mask).to_type(ScalarType.Float32);
        return embeddings.data<float>().ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _model.Dispose();
        _projection?.Dispose();
    }

    private void Check(Tensor inputIds, Tensor attentionMask)
    {
        if (inputIds.ndim != 2 || !inputIds.shape.SequenceEqual(attentionMask.shape))
        {
            throw new SkimException($"input ids {WeightLoader.ShapeText(inputIds.shape)} and attention mask {WeightLoader.ShapeText(attentionMask.shape)} must both be (batch, length)");
        }
        if (inputIds.shape[1] > _encoder.MaxPositions)
        {
            throw new SkimException($"sequences of {inputIds.shape[1]} tokens are longer than the model's {_encoder.MaxPositions} positions (max_position_embeddings)");
        }
        if (inputIds.NumberOfElements == 0)
        {
            return;
        }
        var (low, high) = (inputIds.min().item<long>(), inputIds.max().item<long>());
        if (low < 0 || high >= _encoder.VocabSize)
        {
            throw new SkimException($"token id {(low < 0 ? low : high)} is outside the model's vocabulary of {_encoder.VocabSize} (vocab_size)");
        }
    }
}
