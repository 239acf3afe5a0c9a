namespace Skim.XcTrain.Classifiers;

/// <summary>What stands for a label in the embedding space of <see cref="EmbeddingKnnClassifier"/>.</summary>
public enum LabelRepresentation
{
    /// <summary>The embedding of the label's own text (title, document), as in zero-shot retrieval.</summary>
    LabelText,

    /// <summary>The mean embedding of the training points the training matrix links to the label (a class centroid).</summary>
    TrainPointMean,
}
