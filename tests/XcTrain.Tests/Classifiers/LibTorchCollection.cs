namespace Skim.XcTrain.Tests.Classifiers;

/// <summary>libtorch-heavy tests share one non-parallel collection: two cores are all CI has.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LibTorchCollection
{
    public const string Name = "libtorch";
}
