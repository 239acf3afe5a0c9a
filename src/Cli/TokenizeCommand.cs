using System.CommandLine;
using System.Globalization;
using Skim.Models.Tokenization;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim tokenize</c>: writes NGAME's token files (<c>PREFIX_input_ids.npy</c>,
/// <c>PREFIX_attention_mask.npy</c>, int64 (N, max_len)) for a text file, with any model folder's tokenizer.
/// </summary>
public static class TokenizeCommand
{
    /// <summary>Builds the <c>tokenize</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var tokenizer = new Option<string>("--tokenizer", "-t")
        {
            Description = "Folder with the tokenizer files (vocab.txt, tokenizer.json, tokenizer.model, or vocab.json + merges.txt).",
            Required = true,
        };
        var input = new Option<string>("--input", "-i")
        {
            Description = "UTF-8 text file, one text per line (lines are stripped, as NGAME does).",
            Required = true,
        };
        var maxLength = new Option<int>("--max-len")
        {
            Description = "Row width: texts are truncated and padded to it, special tokens included.",
            DefaultValueFactory = _ => 32,
        };
        maxLength.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError($"--max-len: must be at least 1, found {result.GetValueOrDefault<int>()}");
            }
        });
        var output = new Option<string>("--out", "-o")
        {
            Description = "Output prefix DIR/PREFIX: writes DIR/PREFIX_input_ids.npy and DIR/PREFIX_attention_mask.npy.",
            Required = true,
        };
        var batchSize = new Option<int>("--batch-size")
        {
            Description = "Texts per batch handed to one worker.",
            DefaultValueFactory = _ => new TokenFileOptions { InputPath = "", OutputPrefix = "" }.BatchSize,
        };
        batchSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError($"--batch-size: must be at least 1, found {result.GetValueOrDefault<int>()}");
            }
        });
        var threads = new Option<int>("--threads")
        {
            Description = "Batches tokenized in parallel. Defaults to the number of processors.",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        threads.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError($"--threads: must be at least 1, found {result.GetValueOrDefault<int>()}");
            }
        });
        var command = new Command("tokenize", "Tokenize a text file into NGAME-style int64 input_ids / attention_mask .npy files.")
        {
            tokenizer,
            input,
            maxLength,
            output,
            batchSize,
            threads,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new TokenFileOptions
            {
                InputPath = parseResult.GetValue(input)!,
                OutputPrefix = parseResult.GetValue(output)!,
                MaxLength = parseResult.GetValue(maxLength),
                BatchSize = parseResult.GetValue(batchSize),
                Parallelism = parseResult.GetValue(threads),
            };
            await RunAsync(console, parseResult.GetValue(tokenizer)!, options, cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static async Task RunAsync(IAnsiConsole console, string tokenizerDirectory, TokenFileOptions options, CancellationToken ct)
    {
        var tokenizer = TokenizerLoader.Load(tokenizerDirectory);
        options.Validate();
        var done = await ProgressDisplay.RunAsync<TokenFileProgress, TokenFileResult>(
            console,
            "tokenizing",
            "texts",
            p => (p.RowsWritten, p.TotalRows),
            progress => TokenFileWriter.WriteAsync(tokenizer, options, progress, ct),
            r => r.Rows).ConfigureAwait(false);
        var rate = done.Rows / Math.Max(done.Elapsed.TotalSeconds, 1e-9);
        var table = new Table().AddColumns("", "");
        table.HideHeaders();
        table.AddRow("tokenizer", Markup.Escape($"{tokenizer.Kind} ({tokenizer.VocabularySize} ids) from {tokenizerDirectory}"));
        table.AddRow("rows", done.Rows.ToString(CultureInfo.InvariantCulture));
        table.AddRow("max_len", done.MaxLength.ToString(CultureInfo.InvariantCulture));
        table.AddRow("truncated", done.TruncatedRows.ToString(CultureInfo.InvariantCulture));
        table.AddRow("time", $"{done.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)} s ({rate.ToString("F0", CultureInfo.InvariantCulture)} texts/s)");
        table.AddRow("input_ids", Markup.Escape(done.InputIdsPath));
        table.AddRow("attention_mask", Markup.Escape(done.AttentionMaskPath));
        console.Write(table);
    }
}
