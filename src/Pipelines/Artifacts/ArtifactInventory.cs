using Skim.Core.Datasets;
using Skim.Core.Manifests;

namespace Skim.Pipelines.Artifacts;

/// <summary>One artifact found (or looked for) in an artifacts folder.</summary>
/// <param name="Kind">What it is, e.g. "SLM generations".</param>
/// <param name="Dataset">The dataset folder name it belongs to.</param>
/// <param name="Path">Its folder.</param>
/// <param name="Files">The files that make it usable, as found.</param>
/// <param name="Skips">The stages a pipeline given it can skip (mark <c>provided: true</c>, or point the next stage at it).</param>
/// <param name="MadeBySkim">Whether a Skim manifest describes it (else it is a provided artifact, e.g. from SKIM's release).</param>
public sealed record ArtifactEntry(string Kind, string Dataset, string Path, IReadOnlyList<string> Files, string Skips, bool MadeBySkim);

/// <summary>
/// Finds SKIM artifacts in a folder laid out like SKIM's <c>artifacts/</c> (see artifacts/README.md):
/// datasets, teacher responses, fine-tuned SLMs, generations, mapping encoders, augmented matrices
/// and trained models, and says which stages each lets a pipeline skip.
/// </summary>
public static class ArtifactInventory
{
    private sealed record Rule(string Folder, string Kind, string Skips, Func<string, IReadOnlyList<string>?> Match);

    private static readonly Rule[] s_rules =
    [
        new("datasets", "XC dataset", "-", dir => XcDataset.DetectLayout(dir) is { } layout ? [$"{XcDataset.LayoutName(layout)} layout"] : null),
        new("llm-responses", "teacher responses", "step-0 (teacher calls)", dir => Any(dir, "responses.jsonl", "responses_*_to_*.json", "sft/train.json")),
        new("finetuned-slms", "fine-tuned SLM", "step-0 (fine-tuning)", dir => File.Exists(System.IO.Path.Combine(dir, "config.json"))
            ? Any(dir, "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "lit_model.pth")
            : null),
        new("slm-generations", "SLM generations", "step-1", dir => Both(dir, "raw_rewrites.txt", "start_indices.npy")),
        new("pretrained-models", "mapping encoder", "mapping-encoder training", dir => Any(dir, "ngame_state_dict.pt", "model.safetensors", "pytorch_model.bin", "encoder/model.safetensors")),
        new("skim-augmented-datasets", "augmented matrix", "step-2", dir => Any(dir, "trn_X_Y_skim.npz")),
    ];

    /// <summary>Lists the artifacts below <paramref name="root"/> (an artifacts folder), in layout order.</summary>
    /// <exception cref="Core.SkimConfigException">The folder does not exist.</exception>
    public static IReadOnlyList<ArtifactEntry> Scan(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root))
        {
            throw new Core.SkimConfigException($"{root}: artifacts folder not found");
        }
        var entries = new List<ArtifactEntry>();
        foreach (var rule in s_rules)
        {
            var folder = System.IO.Path.Combine(root, rule.Folder);
            if (!Directory.Exists(folder))
            {
                continue;
            }
            foreach (var dataset in Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal))
            {
                if (rule.Match(dataset) is { } files)
                {
                    entries.Add(new ArtifactEntry(rule.Kind, System.IO.Path.GetFileName(dataset), dataset, files, rule.Skips, File.Exists(System.IO.Path.Combine(dataset, RunManifest.FileName))));
                }
            }
        }
        var models = System.IO.Path.Combine(root, "skim-models");
        if (Directory.Exists(models))
        {
            foreach (var dataset in Directory.EnumerateDirectories(models).Order(StringComparer.Ordinal))
            {
                foreach (var run in Directory.EnumerateDirectories(dataset).Order(StringComparer.Ordinal))
                {
                    if (Any(run, "encoder/config.json", "*_scores.npz", "metrics.json") is { } files)
                    {
                        entries.Add(new ArtifactEntry("trained XC model", $"{System.IO.Path.GetFileName(dataset)}/{System.IO.Path.GetFileName(run)}", run, files, "train, evaluate", File.Exists(System.IO.Path.Combine(run, RunManifest.FileName))));
                    }
                }
            }
        }
        return entries;
    }

    private static List<string>? Any(string dir, params string[] patterns)
    {
        var found = new List<string>();
        foreach (var pattern in patterns)
        {
            var sub = System.IO.Path.GetDirectoryName(pattern) ?? "";
            var folder = System.IO.Path.Combine(dir, sub);
            if (Directory.Exists(folder))
            {
                found.AddRange(Directory.EnumerateFiles(folder, System.IO.Path.GetFileName(pattern)).Select(f => System.IO.Path.GetRelativePath(dir, f)).Order(StringComparer.Ordinal));
            }
        }
        return found.Count > 0 ? found : null;
    }

    private static List<string>? Both(string dir, string a, string b) =>
        File.Exists(System.IO.Path.Combine(dir, a)) && File.Exists(System.IO.Path.Combine(dir, b)) ? [a, b] : null;
}
