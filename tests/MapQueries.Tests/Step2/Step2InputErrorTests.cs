using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.MapQueries.Step2;

namespace Skim.MapQueries.Tests.Step2;

[Collection(MapQueriesLibTorchCollection.Name)]
public sealed class Step2InputErrorTests(Step2TestData data) : IClassFixture<Step2TestData>
{
    [Fact]
    public async Task Start_indices_that_run_past_the_rewrites_are_refused_naming_both_files()
    {
        // Given offsets whose closing entry is 3 lines beyond raw_rewrites.txt
        var generations = data.NewFolder("bad-start");
        File.Copy(Path.Combine(data.QuerySide, Step2Stage.RewritesFileName), Path.Combine(generations, Step2Stage.RewritesFileName));
        NpyFile.Write(Path.Combine(generations, "start_indices.npy"), NpyArray.Create(new long[] { 0, 3, 6, 9, 12, 15, 21 }, 7));
        var options = data.Options(data.NewFolder("out")) with { GenerationsDirectory = generations };

        var error = await Assert.ThrowsAsync<SkimFormatException>(() => Step2StageTests.Run(options));

        Assert.Equal(Path.Combine(generations, "start_indices.npy"), error.Path);
        Assert.Contains(Step2Stage.RewritesFileName, error.Message, StringComparison.Ordinal);
        Assert.Contains("18", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embeddings_of_different_sizes_are_refused_naming_the_file()
    {
        // Given target rows of 8 values and synthetic rows of 5
        var output = data.NewFolder("dims");
        WriteEmbeddings(output, Step2Stage.TrainEmbeddingsFileName, Step2TestData.Points, 8);
        var rewrites = WriteEmbeddings(output, Step2Stage.RewriteEmbeddingsFileName, 18, 5);

        var error = await Assert.ThrowsAsync<SkimDataException>(() => Step2StageTests.Run(data.Options(output)));

        Assert.Equal(rewrites, error.Path);
        Assert.Contains("dimensions do not match", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_nan_embedding_is_refused_naming_the_file_and_row()
    {
        var output = data.NewFolder("nan");
        var targets = WriteEmbeddings(output, Step2Stage.TrainEmbeddingsFileName, Step2TestData.Points, 8, nanRow: 7);
        WriteEmbeddings(output, Step2Stage.RewriteEmbeddingsFileName, 18, 8);

        var error = await Assert.ThrowsAsync<SkimDataException>(() => Step2StageTests.Run(data.Options(output)));

        Assert.Equal(targets, error.Path);
        Assert.Equal("row 7", error.Location);
        Assert.Contains("NaN", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Target_embeddings_whose_count_differs_from_the_train_matrix_rows_are_refused()
    {
        var output = data.NewFolder("count");
        var targets = WriteEmbeddings(output, Step2Stage.TrainEmbeddingsFileName, Step2TestData.Points - 1, 8);
        WriteEmbeddings(output, Step2Stage.RewriteEmbeddingsFileName, 18, 8);

        var error = await Assert.ThrowsAsync<SkimDataException>(() => Step2StageTests.Run(data.Options(output)));

        Assert.Equal(targets, error.Path);
        Assert.Contains($"expected {Step2TestData.Points} rows", error.Message, StringComparison.Ordinal);
        Assert.Contains("train matrix", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.2f, null)]
    [InlineData(-0.1f, null)]
    [InlineData(0.8f, "5:1.5")]
    public void A_threshold_outside_0_to_1_is_refused_naming_the_option(float threshold, string? sweep)
    {
        var options = data.Options("out") with { Threshold = threshold, Sweep = sweep is null ? null : Step2SweepPoint.ParseList(sweep) };

        var error = Assert.Throws<SkimConfigException>(options.Validate);

        Assert.StartsWith("threshold:", error.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 1]", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3/3")]
    [InlineData("1-3")]
    [InlineData("x/2")]
    public void A_malformed_shard_is_refused(string shard)
    {
        var options = data.Options("out") with { Shard = shard };

        var error = Assert.Throws<SkimConfigException>(options.Validate);

        Assert.StartsWith("shard", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_top_k_above_the_neighbours_searched_is_refused()
    {
        var options = data.Options("out") with { TopK = 6, Knn = 5 };

        var error = Assert.Throws<SkimConfigException>(options.Validate);

        Assert.StartsWith("top_k:", error.Message, StringComparison.Ordinal);
    }

    private static string WriteEmbeddings(string output, string name, int rows, int width, int? nanRow = null)
    {
        var folder = Path.Combine(output, Step2Stage.EmbeddingsFolder);
        Directory.CreateDirectory(folder);
        var random = new Random(rows * 31 + width);
        var values = Enumerable.Range(0, rows * width).Select(_ => (float)random.NextDouble()).ToArray();
        if (nanRow is { } r)
        {
            values[(r * width) + 2] = float.NaN;
        }
        var path = Path.Combine(folder, name);
        NpyFile.Write(path, NpyArray.Create(values, rows, width));
        return path;
    }
}
