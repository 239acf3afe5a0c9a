using TorchSharp;

namespace Skim.Models.Devices;

/// <summary>
/// TorchSharp scalars that stay alive until this set is disposed, for arithmetic in hot loops.
/// </summary>
/// <remarks>
/// TorchSharp turns every <c>tensor + 1e-8</c> (and the implicit <c>alpha = 1</c> of every
/// tensor addition) into a finalizable <see cref="Scalar"/> that nothing references once its native
/// handle has been read. A garbage collection started by another thread while the native operation
/// runs may finalize, and so free, a scalar the operation is still reading: libtorch then fails with
/// "Expected false to be true" in <c>Scalar::toFloat</c>, or reads garbage. Passing scalars held
/// here, through the overloads that take every scalar explicitly, closes that window.
/// </remarks>
public sealed class HeldScalars : IDisposable
{
    private readonly List<Scalar> _held = [];

    /// <summary>Gets a floating-point scalar that lives as long as this set.</summary>
    public Scalar this[double value] => Hold(value.ToScalar());

    /// <summary>Gets an integer scalar that lives as long as this set (alpha of integer tensors, counts).</summary>
    public Scalar Integer(long value) => Hold(value.ToScalar());

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var scalar in _held)
        {
            scalar.Dispose();
        }
        _held.Clear();
    }

    private Scalar Hold(Scalar scalar)
    {
        _held.Add(scalar);
        return scalar;
    }
}
