using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.Manifests;
using Skim.Core.Stages;
using Skim.Distill.FineTuning;
using Skim.Models.Generation;
using Skim.Models.Llama;
using Skim.Models.Lora;
using Skim.Models.Tokenization;
using Xunit.Abstractions;

namespace Skim.Distill.Tests.FineTuning;

[Collection(FineTuneCollection.Name)]
public sealed class FineTunerTests(SftFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Lora_fine_tuning_lowers_the_validation_loss_and_greedy_decoding_then_writes_the_response_pattern()
    {
        // Given a tiny random model and 40 pairs whose response is picked by the item's category
        var options = fixture.Options("lora");

        // When the stage LoRA-fine-tunes it for 150 steps
        var reports = new List<StageProgress>();
        var summary = await ((IStage)new FineTuneStage()).RunAsync(options, new SynchronousProgress<StageProgress>(reports.Add), CancellationToken.None);

        // Then the validation loss fell below a fifth of its start
        var log = File.ReadAllLines(Path.Combine(options.OutputDirectory, FineTuneLog.FileName));
        output.WriteLine(string.Join("\n", log.Where((_, i) => i % 10 == 1)));
        var first = summary["first_val_loss"]!.GetValue<double>();
        var final = summary["final_val_loss"]!.GetValue<double>();
        Assert.True(final < 0.2 * first, $"val loss {first} -> {final}");
        Assert.Equal(150, summary["steps"]!.GetValue<long>());
        Assert.Equal(FineTuneLog.Header, log[0]);
        Assert.Equal(1 + 1 + 150, log.Length);
        Assert.Equal(150, reports[^2].Done);
        Assert.Equal(150, reports[^2].Total);

        // And the merged checkpoint, loaded as a plain model, answers every prompt (held-out items too) with its category's response
        using var model = LlamaForCausalLM.FromPretrained(options.OutputDirectory);
        var generator = new LlamaGenerator(model, TokenizerLoader.Load(options.OutputDirectory));
        var texts = new List<string>();
        await foreach (var batch in generator.GenerateAsync(SftFixture.Words.Select(SftFixture.Prompt), new GenerationOptions { Temperature = 0, MaxNewTokens = 8, BatchSize = 50 }))
        {
            Assert.All(batch, s => Assert.Equal(FinishReason.Eos, s.Finish));
            texts.AddRange(batch.Select(s => s.Text!));
        }
        // (a few answers may tip either way with another CPU's float rounding; 45 of 50 leaves room for that)
        var right = texts.Where((t, i) => t == SftFixture.Response(SftFixture.Words[i])).Count();
        Assert.True(right >= 45, $"{right} of 50 answers right:\n{string.Join("\n", texts)}");

        // And the folder holds the adapter, the loss plot and a complete manifest, and no checkpoint
        Assert.True(File.Exists(Path.Combine(options.OutputDirectory, FineTuner.AdapterFolder, LoraModel.AdapterWeightsFileName)));
        Assert.True(File.Exists(Path.Combine(options.OutputDirectory, FineTuner.AdapterFolder, LoraModel.AdapterConfigFileName)));
        Assert.True(new FileInfo(Path.Combine(options.OutputDirectory, FineTuner.LossPlotFile)).Length > 1000);
        Assert.True(File.Exists(Path.Combine(options.OutputDirectory, "tokenizer.json")));
        var manifest = RunManifest.Read(options.OutputDirectory)!;
        Assert.True(manifest.Complete);
        Assert.Equal("finetune", manifest.Stage);
        Assert.Contains(manifest.Outputs, f => f.Path == "model.safetensors");
        Assert.False(Directory.Exists(Path.Combine(options.OutputDirectory, FineTuneCheckpoint.FolderName)));
    }

    [Fact]
    public async Task A_run_cancelled_mid_way_and_resumed_ends_with_the_losses_and_weights_of_an_uninterrupted_run()
    {
        // Given 12 steps with a checkpoint every 4, validation every 3 and dropout on
        // (micro batches of 4 accumulated into global batches of 8, each sorted by length)
        FineTuneOptions Options(string name) => fixture.Options(name) with { Epochs = 3, MicroBatchSize = 4, EvalEverySteps = 3, CheckpointEverySteps = 4, LoraDropout = 0.1 };
        var whole = await FineTuner.RunAsync(Options("whole"));

        // When another run is cancelled after step 6 (its last checkpoint is step 4) and then run again
        var resumed = Options("resumed");
        using (var cancel = new CancellationTokenSource())
        {
            var progress = new SynchronousProgress<StageProgress>(p =>
            {
                if (p.Done == 6 && p.Detail?.StartsWith("loss", StringComparison.Ordinal) == true)
                {
                    cancel.Cancel();
                }
            });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => FineTuner.RunAsync(resumed, progress, cancel.Token));
        }
        Assert.Equal(4, FineTuneCheckpoint.ReadState(FineTuneCheckpoint.Find(resumed.OutputDirectory)!).Step);
        Assert.False(RunManifest.Read(resumed.OutputDirectory)!.Complete);
        var second = await FineTuner.RunAsync(resumed);

        // Then it resumed at step 4 and every logged loss and every adapter weight equal the uninterrupted run's
        Assert.Equal(4, second.ResumedFromStep);
        Assert.Equal(whole.Log.Count, second.Log.Count);
        for (var i = 0; i < whole.Log.Count; i++)
        {
            Assert.Equal(whole.Log[i] with { Seconds = 0 }, second.Log[i] with { Seconds = 0 });
        }
        using var a = SafeTensorsFile.Open(Path.Combine(whole.OutputDirectory, FineTuner.AdapterFolder, LoraModel.AdapterWeightsFileName));
        using var b = SafeTensorsFile.Open(Path.Combine(second.OutputDirectory, FineTuner.AdapterFolder, LoraModel.AdapterWeightsFileName));
        Assert.Equal(a.Keys, b.Keys);
        foreach (var key in a.Keys)
        {
            var (x, y) = (a[key].ToFloat32Array(), b[key].ToFloat32Array());
            Assert.True(x.Zip(y).All(p => Math.Abs(p.First - p.Second) <= 1e-5), $"{key} differs");
        }
        Assert.Contains(a.Keys, k => k.Contains("lora_B", StringComparison.Ordinal) && b[k].ToFloat32Array().Any(v => v != 0));
    }

    [Fact]
    public async Task The_merged_checkpoint_equals_the_base_weights_plus_the_scaled_product_of_the_saved_adapter()
    {
        // Given a short LoRA run (rank 4, alpha 12: scaling 3)
        var options = fixture.Options("merge") with { Epochs = 1, LoraRank = 4, LoraAlpha = 12 };
        await FineTuner.RunAsync(options);

        // When every merged weight is recomputed from the base and adapter files with plain loops
        using var baseWeights = SafeTensorsFile.Open(Path.Combine(fixture.BaseModel, "model.safetensors"));
        using var merged = SafeTensorsFile.Open(Path.Combine(options.OutputDirectory, "model.safetensors"));
        using var adapter = SafeTensorsFile.Open(Path.Combine(options.OutputDirectory, FineTuner.AdapterFolder, LoraModel.AdapterWeightsFileName));

        // Then the merged file has exactly the base keys, adapted weights are W + 3·B·A and the rest are unchanged
        Assert.Equal(baseWeights.Keys.Order(StringComparer.Ordinal), merged.Keys.Order(StringComparer.Ordinal));
        var adapted = 0;
        foreach (var key in baseWeights.Keys)
        {
            var w = baseWeights[key].ToFloat32Array();
            var m = merged[key].ToFloat32Array();
            var module = key[..^".weight".Length];
            if (!adapter.TryGetValue($"{LoraModel.PeftKeyPrefix}{module}.lora_A.weight", out var loraA))
            {
                Assert.Equal(w, m);
                continue;
            }
            adapted++;
            var (A, B) = (loraA.ToFloat32Array(), adapter[$"{LoraModel.PeftKeyPrefix}{module}.lora_B.weight"].ToFloat32Array());
            var (rows, cols) = ((int)baseWeights[key].Shape[0], (int)baseWeights[key].Shape[1]);
            var maxDelta = 0.0;
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < cols; c++)
                {
                    double delta = 0;
                    for (var k = 0; k < 4; k++)
                    {
                        delta += (double)B[(r * 4) + k] * A[(k * cols) + c];
                    }
                    var expected = w[(r * cols) + c] + (3 * delta);
                    Assert.True(Math.Abs(expected - m[(r * cols) + c]) < 1e-5, $"{key}[{r},{c}]: {m[(r * cols) + c]} != {expected}");
                    maxDelta = Math.Max(maxDelta, Math.Abs(delta));
                }
            }
            Assert.True(maxDelta > 1e-4, $"{key}: the adapter did not train");
        }
        Assert.Equal((2 * 7) + 1, adapted);
    }

    [Fact]
    public async Task Full_fine_tuning_trains_every_weight_and_writes_no_adapter()
    {
        var options = fixture.Options("full") with { Method = FineTuneMethod.Full, Epochs = 6, LearningRate = 1e-2, MinLearningRate = 1e-3 };

        var result = await FineTuner.RunAsync(options);

        Assert.Equal(result.TotalParameters, result.TrainableParameters);
        Assert.True(result.FinalValLoss < 0.7 * result.FirstValLoss, $"val loss {result.FirstValLoss} -> {result.FinalValLoss}");
        Assert.False(Directory.Exists(Path.Combine(options.OutputDirectory, FineTuner.AdapterFolder)));
        using var model = LlamaForCausalLM.FromPretrained(options.OutputDirectory);
    }

    [Fact]
    public async Task Bfloat16_training_keeps_float32_master_weights_and_still_learns()
    {
        // Given the bf16 compute path (meant for GPUs; bf16 runs on the CPU too, slowly)
        var options = fixture.Options("bf16") with { DType = "bfloat16", Epochs = 6 };

        // When 30 steps are trained
        var result = await FineTuner.RunAsync(options);

        // Then the loss fell (small updates are kept by the float32 masters) and the adapter saved is bf16-rounded
        Assert.True(result.FinalValLoss < 0.7 * result.FirstValLoss, $"val loss {result.FirstValLoss} -> {result.FinalValLoss}");
        using var adapter = SafeTensorsFile.Open(Path.Combine(options.OutputDirectory, FineTuner.AdapterFolder, LoraModel.AdapterWeightsFileName));
        Assert.All(adapter.Values, t => Assert.Equal(TensorDType.BFloat16, t.DType));
    }

    [Fact]
    public async Task A_base_model_without_a_tokenizer_is_one_clear_error_and_nothing_is_written()
    {
        // Given a copy of the base model without its tokenizer files
        var bare = Path.Combine(fixture.Root, "bare");
        Directory.CreateDirectory(bare);
        File.Copy(Path.Combine(fixture.BaseModel, "config.json"), Path.Combine(bare, "config.json"), overwrite: true);
        File.Copy(Path.Combine(fixture.BaseModel, "model.safetensors"), Path.Combine(bare, "model.safetensors"), overwrite: true);
        var options = fixture.Options("no-tokenizer") with { BaseModelDirectory = bare };

        // When fine-tuning starts
        var error = await Assert.ThrowsAsync<SkimFormatException>(() => FineTuner.RunAsync(options));

        // Then the error names the folder and what is missing, and no output folder was created
        Assert.Contains("no tokenizer", error.Message, StringComparison.Ordinal);
        Assert.Contains(bare, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public void Options_that_cannot_train_are_refused_naming_the_option()
    {
        var options = fixture.Options("bad");

        Assert.Contains("global_batch_size", Assert.Throws<SkimConfigException>(() => (options with { GlobalBatchSize = 7 }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("lora r", Assert.Throws<SkimConfigException>(() => (options with { LoraRank = 0 }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("min_learning_rate", Assert.Throws<SkimConfigException>(() => (options with { MinLearningRate = 1 }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("dtype", Assert.Throws<SkimConfigException>(() => (options with { DType = "float16" }).Validate()).Message, StringComparison.Ordinal);
        (options with { Method = FineTuneMethod.Full, LoraRank = 0 }).Validate();
    }
}
