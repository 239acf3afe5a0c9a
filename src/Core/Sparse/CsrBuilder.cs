namespace Skim.Core.Sparse;

/// <summary>
/// Builds a <see cref="CsrMatrix"/> one row at a time (readers, top-k scorers, label lists). Entries keep
/// the order they are given in; column ids are checked as they arrive. Storage grows by doubling, so
/// passing the expected size up front avoids the copies.
/// </summary>
public sealed class CsrBuilder
{
    private int[] _indPtr;
    private int[] _indices;
    private float[] _data;
    private int _rows;
    private int _count;

    /// <summary>Creates an empty builder for rows of <paramref name="columns"/> columns.</summary>
    /// <param name="columns">Number of columns of the matrix.</param>
    /// <param name="expectedRows">Rows to reserve room for.</param>
    /// <param name="expectedNonZeros">Entries to reserve room for.</param>
    public CsrBuilder(int columns, int expectedRows = 0, int expectedNonZeros = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedRows);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedNonZeros);
        Columns = columns;
        _indPtr = new int[Math.Max(expectedRows, 16) + 1];
        _indices = new int[expectedNonZeros];
        _data = new float[expectedNonZeros];
    }

    /// <summary>Gets the number of columns.</summary>
    public int Columns { get; }

    /// <summary>Gets the number of rows added so far.</summary>
    public int Rows => _rows;

    /// <summary>Gets the number of entries added so far.</summary>
    public int NonZeros => _count;

    /// <summary>Appends a row with the given column ids and values.</summary>
    /// <exception cref="SkimDataException">A column id is out of range (the location names the row).</exception>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="SkimException">The matrix would hold more non-zeros than one array can.</exception>
    public void AddRow(ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        // Parallel spans of different lengths are the caller's bug; column ids out of range are bad data.
        if (indices.Length != values.Length)
        {
            throw new ArgumentException($"row {_rows}: {indices.Length} column ids but {values.Length} values", nameof(values));
        }
        var at = Reserve(indices);
        values.CopyTo(_data.AsSpan(at));
    }

    /// <summary>Appends a row with the given column ids, all holding <paramref name="value"/> (1 for a label list).</summary>
    /// <exception cref="SkimDataException">A column id is out of range (the location names the row).</exception>
    /// <exception cref="SkimException">The matrix would hold more non-zeros than one array can.</exception>
    public void AddRow(ReadOnlySpan<int> indices, float value)
    {
        var at = Reserve(indices);
        _data.AsSpan(at, indices.Length).Fill(value);
    }

    /// <summary>Appends a row without entries.</summary>
    public void AddEmptyRow() => Reserve([]);

    /// <summary>Returns the matrix built so far (its own copy: the builder may go on adding rows).</summary>
    public CsrMatrix Build() =>
        new(_rows, Columns, _indPtr.AsSpan(0, _rows + 1).ToArray(), _indices.AsSpan(0, _count).ToArray(), _data.AsSpan(0, _count).ToArray());

    /// <summary>Checks and copies the column ids of a new row; returns where its values go.</summary>
    private int Reserve(ReadOnlySpan<int> indices)
    {
        for (var k = 0; k < indices.Length; k++)
        {
            if ((uint)indices[k] >= (uint)Columns)
            {
                throw new SkimDataException(null, $"row {_rows}", $"column id {indices[k]} at position {k} is outside [0, {Columns})");
            }
        }
        var needed = (long)_count + indices.Length;
        CsrMatrix.EnsureNonZerosFit(needed, "CsrBuilder");
        if (needed > _indices.Length)
        {
            var capacity = (int)Math.Min(Array.MaxLength, Math.Max(needed, Math.Max(16L, 2L * _indices.Length)));
            Array.Resize(ref _indices, capacity);
            Array.Resize(ref _data, capacity);
        }
        if (_rows + 2 > _indPtr.Length)
        {
            if (_rows + 2L > Array.MaxLength)
            {
                throw new SkimException($"CsrBuilder: more than {Array.MaxLength - 1:N0} rows cannot be held in one matrix");
            }
            Array.Resize(ref _indPtr, (int)Math.Min(Array.MaxLength, 2L * _indPtr.Length));
        }
        var at = _count;
        indices.CopyTo(_indices.AsSpan(at));
        _count += indices.Length;
        _rows++;
        _indPtr[_rows] = _count;
        return at;
    }
}
