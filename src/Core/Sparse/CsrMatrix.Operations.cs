using System.Buffers;
using System.Diagnostics;
using System.Numerics;

namespace Skim.Core.Sparse;

/// <summary>Construction and whole-matrix operations; every operation returns a new matrix and leaves its inputs untouched.</summary>
public sealed partial class CsrMatrix
{
    /// <summary>The largest number of cells <see cref="ToDense"/> builds (100M float32 cells = 400 MB).</summary>
    public const long MaxDenseCells = 100_000_000;

    // Below this many stored entries a pass over the rows is too short to repay starting worker threads.
    private const long ParallelThreshold = 1 << 20;

    // Rows up to this length are sorted by insertion, longer ones by a packed-key sort.
    private const int InsertionSortLength = 32;

    /// <summary>
    /// Builds a matrix from (row, column, value) triples, as scipy's <c>coo_matrix((v, (r, c))).tocsr()</c>:
    /// rows come out sorted by column and entries on the same cell are combined by <paramref name="reduction"/>.
    /// Stored zeros are kept, and duplicates are combined in input order (so sums are reproducible).
    /// Runs in O(nnz + rows) plus a sort of each row.
    /// </summary>
    /// <exception cref="SkimDataException">A row or column id is out of range (the location names the triple).</exception>
    /// <exception cref="ArgumentException">The three spans differ in length.</exception>
    public static CsrMatrix FromTriples(
        int rows,
        int columns,
        ReadOnlySpan<int> rowIds,
        ReadOnlySpan<int> columnIds,
        ReadOnlySpan<float> values,
        DuplicateReduction reduction = DuplicateReduction.Sum)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        // Parallel spans of different lengths are the caller's bug; ids out of range are bad data.
        if (rowIds.Length != columnIds.Length || rowIds.Length != values.Length)
        {
            throw new ArgumentException(
                $"triples need equal lengths, found {rowIds.Length} row ids, {columnIds.Length} column ids and {values.Length} values", nameof(values));
        }
        var n = rowIds.Length;
        for (var k = 0; k < n; k++)
        {
            if ((uint)rowIds[k] >= (uint)rows)
            {
                throw new SkimDataException(null, $"triple {k}", $"row {rowIds[k]} is outside [0, {rows})");
            }
            if ((uint)columnIds[k] >= (uint)columns)
            {
                throw new SkimDataException(null, $"triple {k}", $"column {columnIds[k]} is outside [0, {columns})");
            }
        }

        // Bucket the triples by row (a counting sort that reads the inputs in order), then sort and
        // reduce each short row where it lies: cache-friendlier than a second global counting sort.
        var indPtr = BucketOffsets(rowIds, rows);
        var next = indPtr.AsSpan(0, rows).ToArray();
        var indices = GC.AllocateUninitializedArray<int>(n);
        var data = GC.AllocateUninitializedArray<float>(n);
        for (var k = 0; k < n; k++)
        {
            var p = next[rowIds[k]]++;
            indices[p] = columnIds[k];
            data[p] = values[k];
        }
        SortRowsInPlace(indPtr, indices, data);

        // Reduce runs of equal columns; rows only shrink, so compacting left in place is safe.
        var written = 0;
        var rowFirst = 0;
        for (var r = 0; r < rows; r++)
        {
            var end = indPtr[r + 1];
            var start = written;
            for (var k = rowFirst; k < end; k++)
            {
                if (written > start && indices[written - 1] == indices[k])
                {
                    data[written - 1] = reduction == DuplicateReduction.Max
                        ? MaxKeepingNaN(data[written - 1], data[k])
                        : data[written - 1] + data[k];
                }
                else
                {
                    indices[written] = indices[k];
                    data[written] = data[k];
                    written++;
                }
            }
            rowFirst = end;
            indPtr[r + 1] = written;
        }
        if (written < n)
        {
            Array.Resize(ref indices, written);
            Array.Resize(ref data, written);
        }
        return Trusted(rows, columns, indPtr, indices, data);
    }

    /// <summary>
    /// Builds a matrix row by row from column-id lists, e.g. the <c>target_ind</c> lists of a corpus.
    /// Entries keep the given order (call <see cref="ReduceDuplicates"/> for sorted unique rows).
    /// </summary>
    /// <param name="columns">Number of columns.</param>
    /// <param name="rowIndices">The column ids of each row.</param>
    /// <param name="rowValues">The values of each row, parallel to <paramref name="rowIndices"/>; null stores 1 everywhere.</param>
    public static CsrMatrix FromRows(int columns, IReadOnlyList<int[]> rowIndices, IReadOnlyList<float[]>? rowValues = null)
    {
        ArgumentNullException.ThrowIfNull(rowIndices);
        if (rowValues is not null && rowValues.Count != rowIndices.Count)
        {
            throw new ArgumentException($"{rowIndices.Count} index rows but {rowValues.Count} value rows", nameof(rowValues));
        }
        long total = 0;
        foreach (var row in rowIndices)
        {
            total += row.Length;
        }
        EnsureNonZerosFit(total, "CsrMatrix.FromRows");
        var builder = new CsrBuilder(columns, rowIndices.Count, (int)total);
        for (var i = 0; i < rowIndices.Count; i++)
        {
            if (rowValues is null)
            {
                builder.AddRow(rowIndices[i], 1f);
            }
            else
            {
                builder.AddRow(rowIndices[i], rowValues[i]);
            }
        }
        return builder.Build();
    }

    /// <summary>Returns a deep copy.</summary>
    public CsrMatrix Clone() =>
        Trusted(Rows, Columns, (int[])IndPtr.Clone(), (int[])Indices.Clone(), (float[])Data.Clone());

    /// <summary>
    /// Returns this + <paramref name="other"/> with sorted unique rows. As in scipy, cells whose sum is
    /// exactly zero (including stored zeros of the inputs) are not stored.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    /// <exception cref="SkimException">The sum would hold more non-zeros than one array can.</exception>
    public CsrMatrix Add(CsrMatrix other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Rows != other.Rows || Columns != other.Columns)
        {
            throw new ArgumentException(
                $"cannot add a {other.Rows} x {other.Columns} matrix to a {Rows} x {Columns} matrix: shapes must match", nameof(other));
        }
        var a = HasSortedIndices ? this : ReduceDuplicates(DuplicateReduction.Sum);
        var b = other.HasSortedIndices ? other : other.ReduceDuplicates(DuplicateReduction.Sum);

        var upperBound = (long)a.NonZeros + b.NonZeros;
        var indPtr = new int[Rows + 1];
        if (upperBound > Array.MaxLength)
        {
            // The inputs alone overflow one array: count first, so that the sum is refused only
            // when it really is too large.
            ForRowBlocks(Rows, upperBound, (first, end) =>
            {
                for (var r = first; r < end; r++)
                {
                    indPtr[r + 1] = MergeAddRow(a, b, r, [], [], write: false);
                }
            });
            PrefixSumCounts(indPtr, "CsrMatrix.Add");
            var exactIndices = GC.AllocateUninitializedArray<int>(indPtr[Rows]);
            var exactData = GC.AllocateUninitializedArray<float>(indPtr[Rows]);
            ForRowBlocks(Rows, upperBound, (first, end) =>
            {
                for (var r = first; r < end; r++)
                {
                    MergeAddRow(a, b, r, exactIndices.AsSpan(indPtr[r]), exactData.AsSpan(indPtr[r]), write: true);
                }
            });
            return Trusted(Rows, Columns, indPtr, exactIndices, exactData);
        }

        // One merge pass into room for both rows (row r starts at a.IndPtr[r] + b.IndPtr[r]),
        // then close the gaps that overlapping columns left.
        var indices = GC.AllocateUninitializedArray<int>((int)upperBound);
        var data = GC.AllocateUninitializedArray<float>((int)upperBound);
        ForRowBlocks(Rows, upperBound, (first, end) =>
        {
            for (var r = first; r < end; r++)
            {
                var at = a.IndPtr[r] + b.IndPtr[r];
                indPtr[r + 1] = MergeAddRow(a, b, r, indices.AsSpan(at), data.AsSpan(at), write: true);
            }
        });
        var written = 0;
        for (var r = 0; r < Rows; r++)
        {
            var at = a.IndPtr[r] + b.IndPtr[r];
            var length = indPtr[r + 1];
            if (at != written)
            {
                Array.Copy(indices, at, indices, written, length);
                Array.Copy(data, at, data, written, length);
            }
            written += length;
            indPtr[r + 1] = written;
        }
        if (written < indices.Length)
        {
            Array.Resize(ref indices, written);
            Array.Resize(ref data, written);
        }
        return Trusted(Rows, Columns, indPtr, indices, data);
    }

    /// <summary>Returns a copy with every stored value clamped to [<paramref name="min"/>, <paramref name="max"/>]; the structure is unchanged.</summary>
    /// <exception cref="ArgumentException"><paramref name="min"/> is greater than <paramref name="max"/> or either is NaN.</exception>
    public CsrMatrix Clip(float min, float max)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || min > max)
        {
            throw new ArgumentException($"clip bounds must satisfy min <= max, found min = {min}, max = {max}", nameof(min));
        }
        var data = GC.AllocateUninitializedArray<float>(Data.Length);
        var k = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // Vector.Max/Min follow IEEE 754 maximum/minimum, so NaN stays NaN as with Math.Clamp.
            var low = new Vector<float>(min);
            var high = new Vector<float>(max);
            for (; k <= data.Length - Vector<float>.Count; k += Vector<float>.Count)
            {
                Vector.Min(Vector.Max(new Vector<float>(Data, k), low), high).CopyTo(data, k);
            }
        }
        for (; k < data.Length; k++)
        {
            data[k] = Math.Clamp(Data[k], min, max);
        }
        return Trusted(Rows, Columns, (int[])IndPtr.Clone(), (int[])Indices.Clone(), data);
    }

    /// <summary>
    /// Returns the transpose (columns × rows) by one counting sort, O(nnz + rows + columns). The rows of
    /// the result are sorted; entries on one cell keep their relative order.
    /// </summary>
    public CsrMatrix Transpose()
    {
        var indPtr = BucketOffsets(Indices, Columns);
        var next = indPtr.AsSpan(0, Columns).ToArray();
        var indices = GC.AllocateUninitializedArray<int>(NonZeros);
        var data = GC.AllocateUninitializedArray<float>(NonZeros);
        for (var r = 0; r < Rows; r++)
        {
            for (var k = IndPtr[r]; k < IndPtr[r + 1]; k++)
            {
                var p = next[Indices[k]]++;
                indices[p] = r;
                data[p] = Data[k];
            }
        }
        return Trusted(Columns, Rows, indPtr, indices, data);
    }

    /// <summary>Returns the rows listed in <paramref name="rows"/>, in that order (a row may repeat).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A row id is outside [0, <see cref="Rows"/>).</exception>
    /// <exception cref="SkimException">The selection would hold more non-zeros than one array can.</exception>
    public CsrMatrix SliceRows(ReadOnlySpan<int> rows)
    {
        var indPtr = new int[rows.Length + 1];
        for (var i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)Rows)
            {
                throw new ArgumentOutOfRangeException(nameof(rows), $"row id {rows[i]} at position {i} is outside [0, {Rows})");
            }
            indPtr[i + 1] = RowLength(rows[i]);
        }
        PrefixSumCounts(indPtr, "CsrMatrix.SliceRows");
        var indices = GC.AllocateUninitializedArray<int>(indPtr[rows.Length]);
        var data = GC.AllocateUninitializedArray<float>(indPtr[rows.Length]);
        for (var i = 0; i < rows.Length; i++)
        {
            var from = IndPtr[rows[i]];
            var length = indPtr[i + 1] - indPtr[i];
            Array.Copy(Indices, from, indices, indPtr[i], length);
            Array.Copy(Data, from, data, indPtr[i], length);
        }
        return Trusted(rows.Length, Columns, indPtr, indices, data);
    }

    /// <summary>Returns the <paramref name="count"/> consecutive rows starting at <paramref name="start"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the matrix.</exception>
    public CsrMatrix SliceRows(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)start + count > Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"rows {start} .. {(long)start + count - 1} are outside [0, {Rows})");
        }
        var offset = IndPtr[start];
        var indPtr = new int[count + 1];
        for (var i = 0; i <= count; i++)
        {
            indPtr[i] = IndPtr[start + i] - offset;
        }
        var indices = Indices.AsSpan(offset, indPtr[count]).ToArray();
        var data = Data.AsSpan(offset, indPtr[count]).ToArray();
        return Trusted(count, Columns, indPtr, indices, data);
    }

    /// <summary>
    /// Keeps the <paramref name="k"/> largest entries of each row. Ties go to the higher value first,
    /// then the lower column id (then the earlier stored entry); NaN ranks below every number. Kept
    /// entries stay in their stored order, so a sorted matrix gives a sorted result.
    /// </summary>
    public CsrMatrix TopKPerRow(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        var indPtr = new int[Rows + 1];
        for (var r = 0; r < Rows; r++)
        {
            indPtr[r + 1] = indPtr[r] + Math.Min(k, RowLength(r));
        }
        var indices = GC.AllocateUninitializedArray<int>(indPtr[Rows]);
        var data = GC.AllocateUninitializedArray<float>(indPtr[Rows]);
        ForRowBlocks(Rows, NonZeros, (first, end) =>
        {
            int[]? scratch = null;
            try
            {
                for (var r = first; r < end; r++)
                {
                    var from = IndPtr[r];
                    var length = RowLength(r);
                    if (length <= k)
                    {
                        Array.Copy(Indices, from, indices, indPtr[r], length);
                        Array.Copy(Data, from, data, indPtr[r], length);
                        continue;
                    }
                    if (scratch is null || scratch.Length < length)
                    {
                        if (scratch is not null)
                        {
                            ArrayPool<int>.Shared.Return(scratch);
                        }
                        scratch = ArrayPool<int>.Shared.Rent(length);
                    }
                    var positions = scratch.AsSpan(0, length);
                    for (var p = 0; p < length; p++)
                    {
                        positions[p] = from + p;
                    }
                    positions.Sort(new EntryRank(Indices, Data));
                    // Back to stored order for the k winners.
                    var kept = positions[..k];
                    kept.Sort();
                    for (var p = 0; p < k; p++)
                    {
                        indices[indPtr[r] + p] = Indices[kept[p]];
                        data[indPtr[r] + p] = Data[kept[p]];
                    }
                }
            }
            finally
            {
                if (scratch is not null)
                {
                    ArrayPool<int>.Shared.Return(scratch);
                }
            }
        });
        return Trusted(Rows, Columns, indPtr, indices, data);
    }

    /// <summary>Returns a copy where every stored non-zero value becomes 1 and stored zeros are dropped.</summary>
    public CsrMatrix Binarize()
    {
        var result = EliminateZeros();
        Array.Fill(result.Data, 1f);
        return result;
    }

    /// <summary>
    /// Counts the stored non-zero entries of each column (the label frequencies of a label matrix);
    /// stored zeros are not counted and each duplicate entry counts once.
    /// </summary>
    public int[] ColumnCounts()
    {
        var counts = new int[Columns];
        for (var k = 0; k < Indices.Length; k++)
        {
            if (Data[k] != 0)
            {
                counts[Indices[k]]++;
            }
        }
        return counts;
    }

    /// <summary>Sums the values of each column, in double precision.</summary>
    public double[] ColumnSums()
    {
        var sums = new double[Columns];
        for (var k = 0; k < Indices.Length; k++)
        {
            sums[Indices[k]] += Data[k];
        }
        return sums;
    }

    /// <summary>Sums the values of each row, in double precision.</summary>
    public double[] RowSums()
    {
        var sums = new double[Rows];
        for (var r = 0; r < Rows; r++)
        {
            double sum = 0;
            foreach (var v in RowValues(r))
            {
                sum += v;
            }
            sums[r] = sum;
        }
        return sums;
    }

    /// <summary>
    /// Returns a copy whose rows are sorted by column id. The sort is stable: entries on one cell keep
    /// their stored order (duplicates are not combined; see <see cref="ReduceDuplicates"/>).
    /// </summary>
    public CsrMatrix SortIndices()
    {
        var copy = Clone();
        if (!RowsAreNonDecreasing())
        {
            SortRowsInPlace(copy.IndPtr, copy.Indices, copy.Data);
        }
        return copy;
    }

    /// <summary>Returns a copy with sorted rows in which entries on the same cell are combined by <paramref name="reduction"/>.</summary>
    public CsrMatrix ReduceDuplicates(DuplicateReduction reduction = DuplicateReduction.Sum)
    {
        var sorted = SortIndices();
        var indPtr = new int[Rows + 1];
        var indices = sorted.Indices;
        var data = sorted.Data;
        var written = 0;
        for (var r = 0; r < Rows; r++)
        {
            var rowFirst = written;
            for (var k = sorted.IndPtr[r]; k < sorted.IndPtr[r + 1]; k++)
            {
                if (written > rowFirst && indices[written - 1] == indices[k])
                {
                    data[written - 1] = reduction == DuplicateReduction.Max
                        ? MaxKeepingNaN(data[written - 1], data[k])
                        : data[written - 1] + data[k];
                }
                else
                {
                    indices[written] = indices[k];
                    data[written] = data[k];
                    written++;
                }
            }
            indPtr[r + 1] = written;
        }
        if (written < indices.Length)
        {
            Array.Resize(ref indices, written);
            Array.Resize(ref data, written);
        }
        return Trusted(Rows, Columns, indPtr, indices, data);
    }

    /// <summary>Returns a copy without the stored entries whose value is zero (NaN is kept).</summary>
    public CsrMatrix EliminateZeros()
    {
        var kept = 0;
        foreach (var v in Data)
        {
            if (v != 0)
            {
                kept++;
            }
        }
        var indPtr = new int[Rows + 1];
        var indices = GC.AllocateUninitializedArray<int>(kept);
        var data = GC.AllocateUninitializedArray<float>(kept);
        var written = 0;
        for (var r = 0; r < Rows; r++)
        {
            for (var k = IndPtr[r]; k < IndPtr[r + 1]; k++)
            {
                if (Data[k] != 0)
                {
                    indices[written] = Indices[k];
                    data[written] = Data[k];
                    written++;
                }
            }
            indPtr[r + 1] = written;
        }
        return Trusted(Rows, Columns, indPtr, indices, data);
    }

    /// <summary>
    /// Tells whether both matrices have the same shape and the same value in every cell, within
    /// <paramref name="tolerance"/> (absolute). Cells are compared as numbers: storage order, duplicate
    /// entries (summed) and stored zeros (equal to absent) do not matter; NaN equals NaN.
    /// </summary>
    public bool ContentEquals(CsrMatrix? other, double tolerance = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        if (other is null || Rows != other.Rows || Columns != other.Columns)
        {
            return false;
        }
        var a = HasSortedIndices ? this : ReduceDuplicates(DuplicateReduction.Sum);
        var b = other.HasSortedIndices ? other : other.ReduceDuplicates(DuplicateReduction.Sum);
        for (var r = 0; r < Rows; r++)
        {
            int i = a.IndPtr[r], iEnd = a.IndPtr[r + 1], j = b.IndPtr[r], jEnd = b.IndPtr[r + 1];
            while (i < iEnd || j < jEnd)
            {
                var ca = i < iEnd ? a.Indices[i] : int.MaxValue;
                var cb = j < jEnd ? b.Indices[j] : int.MaxValue;
                var va = ca <= cb ? a.Data[i++] : 0f;
                var vb = cb <= ca ? b.Data[j++] : 0f;
                if (!(float.IsNaN(va) && float.IsNaN(vb)) && va != vb && !(Math.Abs((double)va - vb) <= tolerance))
                {
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>Returns the matrix as a dense row-major array, with duplicate entries summed.</summary>
    /// <exception cref="SkimException">The matrix has more than <see cref="MaxDenseCells"/> cells.</exception>
    public float[,] ToDense()
    {
        var cells = (long)Rows * Columns;
        if (cells > MaxDenseCells)
        {
            throw new SkimException(
                $"a {Rows} x {Columns} matrix has {cells:N0} cells, more than the {MaxDenseCells:N0} that ToDense builds; keep it sparse or slice rows first");
        }
        var dense = new float[Rows, Columns];
        for (var r = 0; r < Rows; r++)
        {
            for (var k = IndPtr[r]; k < IndPtr[r + 1]; k++)
            {
                dense[r, Indices[k]] += Data[k];
            }
        }
        return dense;
    }

    /// <summary>Gets the value at (<paramref name="row"/>, <paramref name="column"/>): 0 when nothing is stored there, the sum when duplicates are.</summary>
    public float Get(int row, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, Columns);
        var value = 0f;
        for (var k = IndPtr[row]; k < IndPtr[row + 1]; k++)
        {
            if (Indices[k] == column)
            {
                value += Data[k];
            }
        }
        return value;
    }

    /// <summary>
    /// Turns per-row counts held at <c>indPtr[r + 1]</c> into row offsets in place, refusing (before
    /// anything of that size is allocated) a total beyond what one array can hold.
    /// </summary>
    internal static void PrefixSumCounts(int[] indPtr, string source)
    {
        long total = 0;
        for (var r = 1; r < indPtr.Length; r++)
        {
            total += (uint)indPtr[r];
            if (total > Array.MaxLength)
            {
                // Keep counting so the message states the full size of what was asked for.
                for (var rest = r + 1; rest < indPtr.Length; rest++)
                {
                    total += (uint)indPtr[rest];
                }
                EnsureNonZerosFit(total, source);
            }
            indPtr[r] = (int)total;
        }
    }

    /// <summary>Wraps arrays that an operation here built correctly, skipping the O(nnz) validation of the public constructor.</summary>
    private static CsrMatrix Trusted(int rows, int columns, int[] indPtr, int[] indices, float[] data)
    {
        Debug.Assert(indPtr.Length == rows + 1 && indPtr[rows] == indices.Length && indices.Length == data.Length);
        return new CsrMatrix(rows, columns, indPtr, indices, data, default(TrustedArrays));
    }

    private CsrMatrix(int rows, int columns, int[] indPtr, int[] indices, float[] data, TrustedArrays trusted)
    {
        _ = trusted;
        Rows = rows;
        Columns = columns;
        IndPtr = indPtr;
        Indices = indices;
        Data = data;
    }

    private static float MaxKeepingNaN(float a, float b) => float.IsNaN(a) || a >= b ? a : b;

    /// <summary>Stably sorts the entries of every row by column id, in place.</summary>
    private static void SortRowsInPlace(int[] indPtr, int[] indices, float[] data)
    {
        var rows = indPtr.Length - 1;
        ForRowBlocks(rows, indices.Length, (first, end) =>
        {
            long[]? keys = null;
            float[]? values = null;
            try
            {
                for (var r = first; r < end; r++)
                {
                    var from = indPtr[r];
                    var length = indPtr[r + 1] - from;
                    var rowIndices = indices.AsSpan(from, length);
                    var rowData = data.AsSpan(from, length);
                    if (length <= InsertionSortLength)
                    {
                        InsertionSort(rowIndices, rowData);
                        continue;
                    }
                    if (keys is null || keys.Length < length)
                    {
                        ReturnScratch(keys, values);
                        keys = ArrayPool<long>.Shared.Rent(length);
                        values = ArrayPool<float>.Shared.Rent(length);
                    }
                    // (column, position) packed into one key: a plain sort of the keys is stable.
                    var rowKeys = keys.AsSpan(0, length);
                    for (var p = 0; p < length; p++)
                    {
                        rowKeys[p] = ((long)rowIndices[p] << 32) | (uint)p;
                    }
                    rowKeys.Sort();
                    rowData.CopyTo(values!);
                    for (var p = 0; p < length; p++)
                    {
                        rowIndices[p] = (int)(rowKeys[p] >> 32);
                        rowData[p] = values![(int)(uint)rowKeys[p]];
                    }
                }
            }
            finally
            {
                ReturnScratch(keys, values);
            }
        });

        static void ReturnScratch(long[]? keys, float[]? values)
        {
            if (keys is not null)
            {
                ArrayPool<long>.Shared.Return(keys);
                ArrayPool<float>.Shared.Return(values!);
            }
        }
    }

    /// <summary>Stable insertion sort by column id: the fastest choice for the short rows of label matrices.</summary>
    private static void InsertionSort(Span<int> indices, Span<float> data)
    {
        for (var i = 1; i < indices.Length; i++)
        {
            var column = indices[i];
            var value = data[i];
            var j = i - 1;
            while (j >= 0 && indices[j] > column)
            {
                indices[j + 1] = indices[j];
                data[j + 1] = data[j];
                j--;
            }
            indices[j + 1] = column;
            data[j + 1] = value;
        }
    }

    private bool RowsAreNonDecreasing()
    {
        for (var r = 0; r < Rows; r++)
        {
            for (var k = IndPtr[r] + 1; k < IndPtr[r + 1]; k++)
            {
                if (Indices[k] < Indices[k - 1])
                {
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>
    /// Adds row <paramref name="row"/> of two canonical matrices into the output spans (only counting
    /// when <paramref name="write"/> is false); cells that sum to zero are skipped. Returns the length.
    /// </summary>
    private static int MergeAddRow(CsrMatrix a, CsrMatrix b, int row, Span<int> indices, Span<float> data, bool write)
    {
        var aIndices = a.RowIndices(row);
        var aData = a.RowValues(row);
        var bIndices = b.RowIndices(row);
        var bData = b.RowValues(row);
        int i = 0, j = 0, count = 0;
        while (i < aIndices.Length || j < bIndices.Length)
        {
            int column;
            float value;
            var ca = i < aIndices.Length ? aIndices[i] : int.MaxValue;
            var cb = j < bIndices.Length ? bIndices[j] : int.MaxValue;
            if (ca < cb)
            {
                column = ca;
                value = aData[i++];
            }
            else if (cb < ca)
            {
                column = cb;
                value = bData[j++];
            }
            else
            {
                column = ca;
                value = aData[i++] + bData[j++];
            }
            if (value != 0)
            {
                if (write)
                {
                    indices[count] = column;
                    data[count] = value;
                }
                count++;
            }
        }
        return count;
    }

    /// <summary>Runs <paramref name="body"/> over [first, end) row blocks, in parallel only when there is enough work.</summary>
    private static void ForRowBlocks(int rows, long work, Action<int, int> body)
    {
        var workers = Environment.ProcessorCount;
        if (work < ParallelThreshold || workers == 1 || rows < 2)
        {
            body(0, rows);
            return;
        }
        var blocks = Math.Min(rows, workers * 4);
        Parallel.For(0, blocks, block =>
        {
            var first = (int)((long)rows * block / blocks);
            var end = (int)((long)rows * (block + 1) / blocks);
            body(first, end);
        });
    }

    /// <summary>Marks the constructor that skips validation.</summary>
    private readonly struct TrustedArrays;

    /// <summary>Orders entry positions by value (descending, NaN last), then column, then position.</summary>
    private readonly struct EntryRank(int[] indices, float[] data) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            // float.CompareTo puts NaN below every number, which is where a missing score belongs.
            var byValue = data[y].CompareTo(data[x]);
            if (byValue != 0)
            {
                return byValue;
            }
            var byColumn = indices[x].CompareTo(indices[y]);
            return byColumn != 0 ? byColumn : x.CompareTo(y);
        }
    }

    /// <summary>
    /// The first half of a counting sort: offsets[b] is where bucket b starts when
    /// <paramref name="keys"/> (each in [0, <paramref name="buckets"/>)) are grouped by value;
    /// offsets[buckets] is the number of keys.
    /// </summary>
    private static int[] BucketOffsets(ReadOnlySpan<int> keys, int buckets)
    {
        var offsets = new int[buckets + 1];
        foreach (var key in keys)
        {
            offsets[key + 1]++;
        }
        for (var b = 0; b < buckets; b++)
        {
            offsets[b + 1] += offsets[b];
        }
        return offsets;
    }
}
