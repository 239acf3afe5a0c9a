using System.CommandLine;
using System.Globalization;
using Skim.Generate.Gguf;
using Skim.Models.Devices;
using Skim.Models.ModelFactory;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim model init</c> (a randomly initialised model in Hugging Face's on-disk form, with a copied
/// or freshly trained tokenizer), <c>skim model info</c> (what a model folder holds, after proving
/// that it loads) and <c>skim model export-gguf</c> (the folder as a GGUF file for llama.cpp).
/// </summary>
public static class ModelCommand
{
    /// <summary>Builds the <c>model</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("model", "Create and describe model folders (config.json + model.safetensors + tokenizer files).");
        command.Subcommands.Add(CreateInit(console));
        command.Subcommands.Add(CreateInfo(console));
        command.Subcommands.Add(CreateExportGguf(console));
        return command;
    }

    private static Command CreateInit(IAnsiConsole console)
    {
        var architecture = new Option<string>("--arch")
        {
            Description = $"Architecture: {ModelPresets.ArchitectureChoices}.",
            Required = true,
        };
        var preset = new Option<string>("--preset")
        {
            Description = "Size: tiny, small (a few M parameters), or an HF size name: SmolLM-135M, Llama-2-7b (llama); Qwen2-0.5B (qwen2); Mistral-7B-v0.1 (mistral); bert-base-uncased; distilbert-base-uncased.",
            DefaultValueFactory = _ => "tiny",
        };
        var tokenizer = new Option<string>("--tokenizer")
        {
            Description = $"A folder whose tokenizer files are copied, or {ModelInitOptions.TrainPrefix}CORPUS.txt to build a WordPiece (bert, distilbert) or byte-level BPE (decoders) vocabulary from a UTF-8 text file, one text per line.",
            Required = true,
        };
        var vocabSize = new Option<int?>("--vocab-size")
        {
            Description = $"Target vocabulary size when training the tokenizer (special tokens included). Defaults to {ModelInitializer.DefaultVocabSize}.",
        };
        var layers = new Option<int?>("--layers")
        {
            Description = "Number of transformer layers, replacing the preset's (the preset's width with fewer layers). Defaults to the preset's.",
        };
        var seed = new Option<long>("--seed")
        {
            Description = "Seed of the random initialisation.",
            DefaultValueFactory = _ => 0,
        };
        var dtype = new Option<string>("--dtype")
        {
            Description = $"Dtype of the stored weights: {TorchDevices.DTypeChoices}.",
            DefaultValueFactory = _ => "float32",
        };
        var output = new Option<string>("--out", "-o")
        {
            Description = "Output folder; it must not exist or be empty unless --force is given. Written to a temporary folder and renamed into place.",
            Required = true,
        };
        var force = new Option<bool>("--force")
        {
            Description = "Replace a non-empty output folder.",
        };
        var maxMemory = new Option<long?>("--max-memory-mb")
        {
            Description = "Refuse models whose creation needs more memory than this many MB. Defaults to the memory the system reports as available.",
        };
        var command = new Command("init", "Write a randomly initialised model (HF initialisation) with its tokenizer in Hugging Face's on-disk form.")
        {
            architecture,
            preset,
            tokenizer,
            vocabSize,
            layers,
            seed,
            dtype,
            output,
            force,
            maxMemory,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new ModelInitOptions
            {
                Architecture = parseResult.GetValue(architecture)!,
                Preset = parseResult.GetValue(preset)!,
                Tokenizer = parseResult.GetValue(tokenizer)!,
                OutputDirectory = parseResult.GetValue(output)!,
                VocabSize = parseResult.GetValue(vocabSize),
                Layers = parseResult.GetValue(layers),
                Seed = parseResult.GetValue(seed),
                DType = parseResult.GetValue(dtype)!,
                Force = parseResult.GetValue(force),
                MemoryLimitBytes = parseResult.GetValue(maxMemory) is { } mb ? checked(mb * 1_000_000) : null,
            };
            var result = ModelInitializer.Create(options, cancellationToken);
            console.MarkupLineInterpolated($"[green]created[/] {result.Info.Folder} ({result.Preset.Architecture.ToString().ToLowerInvariant()} {result.Preset.Name}, {(result.TrainedTokenizer ? "trained" : "copied")} tokenizer, seed {options.Seed})");
            Render(console, result.Info);
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command CreateInfo(IAnsiConsole console)
    {
        var folder = new Argument<string>("DIR")
        {
            Description = "A model folder: config.json, model.safetensors (or a sharded index, or pytorch_model.bin) and tokenizer files.",
        };
        var command = new Command("info", "Print a model folder's architecture, parameter count, stored dtypes, vocabulary, tokenizer and files, after loading it strictly.")
        {
            folder,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            Render(console, ModelInspector.Inspect(parseResult.GetValue(folder)!));
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command CreateExportGguf(IAnsiConsole console)
    {
        var folder = new Argument<string>("DIR")
        {
            Description = "A Llama, Mistral or Qwen2 model folder: config.json, weights and tokenizer files.",
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = $"The GGUF file to write (atomically). Defaults to the cache beside the checkpoint: DIR/{GgufExport.CacheFolderName}/<hash>-<type>.gguf, reused while the checkpoint is unchanged.",
        };
        var type = new Option<string>("--type")
        {
            Description = $"Weight type: {GgufTypes.Choices} (the quantized types are made by llama.cpp's quantizer from an f32 or f16 export).",
            DefaultValueFactory = _ => "f16",
        };
        var command = new Command("export-gguf", "Write a model folder as a GGUF v3 file for llama.cpp (LLamaSharp): metadata, tokenizer, llama.cpp's tensor names and rotary layout.")
        {
            folder,
            output,
            type,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var ggufType = GgufTypes.Parse(parseResult.GetValue(type)!);
            var directory = parseResult.GetValue(folder)!;
            var result = parseResult.GetValue(output) is { } path
                ? GgufExport.Export(directory, path, ggufType, cancellationToken)
                : GgufExport.ExportCached(directory, ggufType, ct: cancellationToken);
            console.MarkupLineInterpolated($"[green]{(result.FromCache ? "cached" : "exported")}[/] {result.Path} ({result.Type.Name()}, {MemoryBudget.Format(result.Bytes)}, checkpoint {result.CheckpointHash})");
            return Task.FromResult(0);
        });
        return command;
    }

    private static void Render(IAnsiConsole console, ModelInfo info)
    {
        var table = new Table().AddColumns("", "");
        table.HideHeaders();
        table.AddRow("folder", Markup.Escape(info.Folder));
        table.AddRow("architecture", Markup.Escape(info.Architecture ?? "(not stated)"));
        table.AddRow("model_type", Markup.Escape(info.ModelType));
        table.AddRow("parameters", info.ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("dtype", Markup.Escape(string.Join(", ", info.StoredDTypes.Select(d => $"{d.Key} ({d.Value} tensors)"))));
        table.AddRow("layers", info.Layers.ToString(CultureInfo.InvariantCulture));
        table.AddRow("hidden size", info.HiddenSize.ToString(CultureInfo.InvariantCulture));
        table.AddRow("vocab size", info.VocabSize.ToString(CultureInfo.InvariantCulture));
        table.AddRow("tokenizer", info.TokenizerKind is { } kind
            ? $"{kind} ({info.TokenizerVocabularySize!.Value.ToString(CultureInfo.InvariantCulture)} ids)"
            : "none");
        table.AddRow("weights", info.LoadedOn == "cpu" ? "load strictly (loaded on the CPU)" : "load strictly (read and checked on the meta device: too large to hold)");
        foreach (var file in info.Files)
        {
            table.AddRow(Markup.Escape(file.Name), MemoryBudget.Format(file.Bytes));
        }
        console.Write(table);
    }
}
