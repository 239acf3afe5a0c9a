using System.Diagnostics;
using Skim.Distill.Teachers;

namespace Skim.Bench;

/// <summary>
/// Passes every call on to a teacher client and records how long each took (from the call to its
/// answer: the client's Polly pipeline, HTTP and JSON included). Costs two timestamps and an
/// interlocked increment per call. Does not own the inner client.
/// </summary>
public sealed class TeacherTimingClient(ITeacherClient inner, int capacity) : ITeacherClient
{
    private readonly double[] _milliseconds = new double[capacity];
    private int _count;

    /// <inheritdoc/>
    public string Kind => inner.Kind;

    /// <inheritdoc/>
    public string Model => inner.Model;

    /// <summary>Gets the recorded call times in milliseconds (a copy, in completion order).</summary>
    public double[] Milliseconds => _milliseconds[..Math.Min(Volatile.Read(ref _count), _milliseconds.Length)];

    /// <summary>Forgets the recorded times.</summary>
    public void Reset() => Volatile.Write(ref _count, 0);

    /// <inheritdoc/>
    public async Task<TeacherAnswer> CompleteAsync(string prompt, TeacherSettings settings, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var answer = await inner.CompleteAsync(prompt, settings, ct).ConfigureAwait(false);
        var slot = Interlocked.Increment(ref _count) - 1;
        if (slot < _milliseconds.Length)
        {
            _milliseconds[slot] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return answer;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        // The inner client belongs to the caller.
    }
}
