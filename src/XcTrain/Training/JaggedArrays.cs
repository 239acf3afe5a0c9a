using Skim.Core.Formats.Npy;

namespace Skim.XcTrain.Training;

/// <summary>Row lists of different lengths (clusters, shortlists) stored in a checkpoint as two .npy arrays: the values and the row offsets.</summary>
internal static class JaggedArrays
{
    /// <summary>Adds <paramref name="rows"/> to <paramref name="arrays"/> as <c>{name}</c> (values) and <c>{name}_offsets</c>.</summary>
    public static void Save(IDictionary<string, NpyArray> arrays, string name, int[][] rows)
    {
        var offsets = new int[rows.Length + 1];
        for (var r = 0; r < rows.Length; r++)
        {
            offsets[r + 1] = offsets[r] + rows[r].Length;
        }
        arrays[name] = NpyArray.Create(rows.SelectMany(r => r).ToArray(), offsets[^1]);
        arrays[name + "_offsets"] = NpyArray.Create(offsets, offsets.Length);
    }

    /// <summary>Reads what <see cref="Save"/> wrote, or null when the checkpoint has no such arrays.</summary>
    public static int[][]? Load(Func<string, NpyArray?> arrays, string name)
    {
        if (arrays(name) is not { } values || arrays(name + "_offsets") is not { } offsetArray)
        {
            return null;
        }
        var flat = values.As<int>();
        var offsets = offsetArray.As<int>();
        return [.. Enumerable.Range(0, offsets.Length - 1).Select(r => flat[offsets[r]..offsets[r + 1]])];
    }
}
