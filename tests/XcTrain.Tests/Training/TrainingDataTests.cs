using Skim.Core;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;
using Skim.XcTrain.Training;

namespace Skim.XcTrain.Tests.Training;

public sealed class TrainingDataTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_validation_split_is_seeded_disjoint_and_leaves_out_rows_without_labels()
    {
        // Given 40 train points of which every fifth has no label
        var dataset = TrainingFixtures.Synthetic(_dir, train: 40, trainLabels: i => i % 5 == 0 ? [] : [i % 8]);
        var options = new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = _dir.File("run"), ValidationFraction = 0.25, Seed = 3 };

        // When it is loaded twice with one seed and once with another
        var first = TrainingData.Load(options);
        var again = TrainingData.Load(options);
        var other = TrainingData.Load(options with { Seed = 4 });

        // Then 8 unlabelled rows are skipped, 8 of the 32 labelled ones validate, and the split follows the seed
        Assert.Equal(8, first.RowsWithoutLabels);
        Assert.Equal(8, first.ValidationRows.Length);
        Assert.Equal(24, first.TrainRows.Length);
        Assert.Empty(first.TrainRows.Intersect(first.ValidationRows));
        Assert.All(first.TrainRows.Concat(first.ValidationRows), row => Assert.NotEqual(0, row % 5));
        Assert.Equal(first.ValidationRows, again.ValidationRows);
        Assert.NotEqual(first.ValidationRows, other.ValidationRows);
    }

    [Fact]
    public void A_train_matrix_with_another_row_count_is_a_data_error_naming_both_counts()
    {
        // Given a 10-row matrix for a dataset with 48 train texts
        var dataset = TrainingFixtures.Synthetic(_dir);
        var matrix = _dir.File("short.npz");
        SparseNpz.Save(matrix, CsrMatrix.FromRows(8, [.. Enumerable.Range(0, 10).Select(i => new[] { i % 8 })]));

        // When
        var error = Assert.Throws<SkimDataException>(() => TrainingData.Load(new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = _dir.File("run"), TrainMatrixPath = matrix }));

        // Then
        Assert.Contains(matrix, error.Message, StringComparison.Ordinal);
        Assert.Contains("10 rows", error.Message, StringComparison.Ordinal);
        Assert.Contains("48 train texts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_train_matrix_with_another_label_count_is_a_data_error()
    {
        var dataset = TrainingFixtures.Synthetic(_dir);
        var matrix = _dir.File("wide.npz");
        SparseNpz.Save(matrix, CsrMatrix.FromRows(9, [.. Enumerable.Range(0, 48).Select(i => new[] { i % 9 })]));

        var error = Assert.Throws<SkimDataException>(() => TrainingData.Load(new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = _dir.File("run"), TrainMatrixPath = matrix }));

        Assert.Contains("9 label columns", error.Message, StringComparison.Ordinal);
        Assert.Contains("8 label texts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_train_matrix_without_any_positive_is_an_empty_training_set_error()
    {
        var dataset = TrainingFixtures.Synthetic(_dir, trainLabels: _ => []);

        var error = Assert.Throws<SkimDataException>(() => TrainingData.Load(new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = _dir.File("run") }));

        Assert.Contains("nothing to train on", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Linear_schedule_rises_over_the_warm_up_and_falls_to_zero_at_the_last_update()
    {
        var schedule = LinearSchedule.Create(totalSteps: 100, warmupFraction: 0.1);

        Assert.Equal(10, schedule.WarmupSteps);
        Assert.Equal(0.0, schedule.Factor(0));
        Assert.Equal(0.5, schedule.Factor(5));
        Assert.Equal(1.0, schedule.Factor(10));
        Assert.Equal(0.5, schedule.Factor(55));
        Assert.Equal(0.0, schedule.Factor(100));
    }

    [Fact]
    public void Derived_seeds_depend_on_the_run_seed_the_purpose_and_every_counter()
    {
        var seeds = new[]
        {
            SeedMix.Of(1, "order", 0), SeedMix.Of(2, "order", 0), SeedMix.Of(1, "positives", 0), SeedMix.Of(1, "order", 1), SeedMix.Of(1, "order", 0, 1),
        };

        Assert.Equal(seeds.Length, seeds.Distinct().Count());
        Assert.Equal(SeedMix.Of(1, "order", 0), seeds[0]);
        Assert.All(seeds, s => Assert.True(s >= 0));
    }
}
