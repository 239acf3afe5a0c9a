namespace Skim.Core.Sparse;

/// <summary>
/// A compressed sparse row matrix laid out as scipy's <c>csr_matrix</c>: row <c>i</c> holds the
/// entries <c>IndPtr[i] .. IndPtr[i+1]-1</c> of <see cref="Indices"/> (column ids) and
/// <see cref="Data"/> (values). Values are held in float32, as pyxclib reads XC matrices by default.
/// </summary>
/// <remarks>
/// Column indices inside a row may be unsorted (scipy allows it; score matrices built from top-k
/// lists are stored in score order); <see cref="HasSortedIndices"/> tells. .NET arrays hold at most
/// <see cref="Array.MaxLength"/> elements, so matrices with more non-zeros are refused with a
/// <see cref="SkimException"/> rather than truncated.
/// </remarks>
public sealed partial class CsrMatrix
{
    // The Location of a constructor error, so a loader can name the file member it read the array from.
    internal const string IndPtrName = "indptr";
    internal const string IndicesName = "indices";

    /// <summary>Creates a matrix over the given arrays after checking that they describe a valid CSR matrix.</summary>
    /// <remarks>
    /// The arrays usually come straight from a file (a loader reads them and hands them over), so an
    /// inconsistency is reported as bad data at "indptr" or "indices"; the loader names the file.
    /// </remarks>
    /// <exception cref="SkimDataException">The arrays are inconsistent (lengths, monotone indptr, indices in range).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> or <paramref name="columns"/> is negative (loaders refuse such shapes first).</exception>
    public CsrMatrix(int rows, int columns, int[] indPtr, int[] indices, float[] data)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentNullException.ThrowIfNull(indPtr);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(data);
        if (indPtr.Length != rows + 1)
        {
            throw new SkimDataException(null, IndPtrName, $"{indPtr.Length} entries, expected rows + 1 = {rows + 1}");
        }
        if (indices.Length != data.Length)
        {
            throw new SkimDataException(null, IndicesName, $"{indices.Length} entries but data has {data.Length}");
        }
        if (indPtr[0] != 0 || indPtr[rows] != indices.Length)
        {
            throw new SkimDataException(null, IndPtrName, $"must run from 0 to nnz = {indices.Length}, found {indPtr[0]} .. {indPtr[rows]}");
        }
        for (var i = 0; i < rows; i++)
        {
            if (indPtr[i + 1] < indPtr[i])
            {
                throw new SkimDataException(null, IndPtrName, $"decreases at row {i}: {indPtr[i]} then {indPtr[i + 1]}");
            }
        }
        for (var k = 0; k < indices.Length; k++)
        {
            if ((uint)indices[k] >= (uint)columns)
            {
                throw new SkimDataException(null, IndicesName, $"column index {indices[k]} at position {k} is outside [0, {columns})");
            }
        }
        Rows = rows;
        Columns = columns;
        IndPtr = indPtr;
        Indices = indices;
        Data = data;
    }

    /// <summary>Gets the number of rows (points).</summary>
    public int Rows { get; }

    /// <summary>Gets the number of columns (labels).</summary>
    public int Columns { get; }

    /// <summary>Gets the row pointer array, of length <see cref="Rows"/> + 1.</summary>
    public int[] IndPtr { get; }

    /// <summary>Gets the column index of each stored entry.</summary>
    public int[] Indices { get; }

    /// <summary>Gets the value of each stored entry.</summary>
    public float[] Data { get; }

    /// <summary>Gets the number of stored entries (explicit zeros included).</summary>
    public int NonZeros => Indices.Length;

    /// <summary>Creates an all-zero matrix with no stored entries.</summary>
    public static CsrMatrix Empty(int rows, int columns) =>
        new(rows, columns, new int[rows + 1], [], []);

    /// <summary>Gets the number of stored entries in row <paramref name="row"/>.</summary>
    public int RowLength(int row) => IndPtr[row + 1] - IndPtr[row];

    /// <summary>Gets the column indices of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<int> RowIndices(int row) => Indices.AsSpan(IndPtr[row], IndPtr[row + 1] - IndPtr[row]);

    /// <summary>Gets the values of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> RowValues(int row) => Data.AsSpan(IndPtr[row], IndPtr[row + 1] - IndPtr[row]);

    /// <summary>Gets whether every row's column indices are strictly increasing (sorted and unique).</summary>
    public bool HasSortedIndices
    {
        get
        {
            for (var i = 0; i < Rows; i++)
            {
                var row = RowIndices(i);
                for (var k = 1; k < row.Length; k++)
                {
                    if (row[k] <= row[k - 1])
                    {
                        return false;
                    }
                }
            }
            return true;
        }
    }

    /// <summary>
    /// Throws a <see cref="SkimException"/> when <paramref name="count"/> entries cannot be held in
    /// one .NET array; <paramref name="source"/> names what was being built (a file, an operation).
    /// </summary>
    public static void EnsureNonZerosFit(long count, string source)
    {
        if (count > Array.MaxLength)
        {
            throw new SkimException(
                $"{source}: {count:N0} non-zeros exceed the {Array.MaxLength:N0} that one matrix can hold; split the matrix by rows (e.g. with --shard) and process the parts separately");
        }
    }
}
