using System.CommandLine;
using System.Globalization;
using Skim.Models.Devices;
using Skim.Models.Encoders;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim embed</c>: embeds a text file or NGAME token files with a BERT/DistilBERT model folder into
/// an (N, D) float32 or float16 <c>.npy</c> file.
/// </summary>
public static class EmbedCommand
{
    /// <summary>Builds the <c>embed</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var defaults = new EmbeddingOptions { ModelDirectory = "", InputPath = "", OutputPath = "" };
        var model = new Option<string>("--model", "-m")
        {
            Description = "Model folder: config.json (bert or distilbert) + model.safetensors (or a PyTorch state dict), and tokenizer files for text input.",
            Required = true,
        };
        var input = new Option<string>("--input", "-i")
        {
            Description = "A UTF-8 text file (one text per line), or a token prefix DIR/PREFIX with PREFIX_input_ids.npy + PREFIX_attention_mask.npy (from `skim tokenize` or NGAME).",
            Required = true,
        };
        var output = new Option<string>("--out", "-o")
        {
            Description = "Output .npy file: (N, D) rows, written atomically.",
            Required = true,
        };
        var tokenizer = new Option<string?>("--tokenizer", "-t")
        {
            Description = "Tokenizer folder for text input. Defaults to the model folder.",
        };
        var weights = new Option<string?>("--weights")
        {
            Description = "Weight file to load instead of the model folder's own (e.g. NGAME's ngame_state_dict.pt).",
        };
        var pooling = new Option<string>("--pooling")
        {
            Description = "mean (NGAME, sentence-transformers) or cls (DEXML).",
            DefaultValueFactory = _ => "mean",
        };
        var normalize = new Option<bool>("--normalize")
        {
            Description = "L2-normalise every row.",
        };
        var batchSize = new Option<int>("--batch-size", "-b")
        {
            Description = "Texts per forward pass.",
            DefaultValueFactory = _ => defaults.BatchSize,
        };
        var maxLength = new Option<int>("--max-len")
        {
            Description = "Tokens per text input, special tokens included (longer texts are cut).",
            DefaultValueFactory = _ => defaults.MaxLength,
        };
        var dtype = new Option<string>("--dtype")
        {
            Description = $"Compute dtype: {TorchDevices.DTypeChoices}.",
            DefaultValueFactory = _ => defaults.DType,
        };
        var outputDType = new Option<string>("--output-dtype")
        {
            Description = "Dtype of the written rows: float32|float16.",
            DefaultValueFactory = _ => defaults.OutputDType,
        };
        var device = new Option<string>("--device")
        {
            Description = $"Device: {TorchDevices.DeviceChoices}.",
            DefaultValueFactory = _ => defaults.Device,
        };
        var command = new Command("embed", "Embed texts or NGAME token files with a BERT/DistilBERT encoder into an .npy file.")
        {
            model,
            input,
            output,
            tokenizer,
            weights,
            pooling,
            normalize,
            batchSize,
            maxLength,
            dtype,
            outputDType,
            device,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new EmbeddingOptions
            {
                ModelDirectory = parseResult.GetValue(model)!,
                InputPath = parseResult.GetValue(input)!,
                OutputPath = parseResult.GetValue(output)!,
                TokenizerDirectory = parseResult.GetValue(tokenizer),
                WeightsPath = parseResult.GetValue(weights),
                Pooling = Pooling.Parse(parseResult.GetValue(pooling)!),
                Normalize = parseResult.GetValue(normalize),
                BatchSize = parseResult.GetValue(batchSize),
                MaxLength = parseResult.GetValue(maxLength),
                DType = parseResult.GetValue(dtype)!,
                OutputDType = parseResult.GetValue(outputDType)!,
                Device = parseResult.GetValue(device)!,
            };
            await RunAsync(console, options, cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static async Task RunAsync(IAnsiConsole console, EmbeddingOptions options, CancellationToken ct)
    {
        options.Validate();
        var result = await ProgressDisplay.RunAsync<EmbeddingProgress, EmbeddingResult>(
            console,
            "embedding",
            "texts",
            p => (p.RowsDone, p.TotalRows),
            progress => EmbeddingJob.RunAsync(options, progress, ct),
            r => r.Rows).ConfigureAwait(false);
        console.WriteLine(Summary(result));
    }

    /// <summary>The one line printed at the end, e.g. "embedded 1,000 texts into out.npy (1000, 768) float32 in 2.1 s (476 texts/s) on cpu".</summary>
    internal static string Summary(EmbeddingResult result)
    {
        var seconds = Math.Max(result.Elapsed.TotalSeconds, 1e-9);
        var source = result.Input == EmbeddingInputKind.Text ? "texts" : "token rows";
        return Invariant($"embedded {result.Rows:N0} {source} into {result.OutputPath} ({result.Rows}, {result.Dimension}) {result.OutputDType} in {result.Elapsed.TotalSeconds:F1} s ({result.Rows / seconds:F0}/s) on {result.Device}; input {result.InputDescription}");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
