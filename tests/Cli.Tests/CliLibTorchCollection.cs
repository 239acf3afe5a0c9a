namespace Skim.Cli.Tests;

/// <summary>CLI tests that run models share one non-parallel collection: two cores are all CI has.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliLibTorchCollection
{
    public const string Name = "cli-libtorch";
}
