using Polly;
using Polly.Timeout;

namespace Skim.Distill.Teachers;

/// <summary>
/// Shared part of the HTTP teachers: each call runs one attempt (<see cref="SendOnceAsync"/>)
/// through <see cref="TeacherResilience"/>, and failures that outlive the retries come out as
/// <see cref="TeacherRequestException"/>.
/// </summary>
public abstract class TeacherClientBase : ITeacherClient
{
    private readonly TeacherResilience _resilience;

    /// <summary>Creates the client's resilience pipeline.</summary>
    protected TeacherClientBase(TeacherClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _resilience = new TeacherResilience(options);
    }

    /// <summary>Gets the options.</summary>
    protected TeacherClientOptions Options { get; }

    /// <inheritdoc/>
    public abstract string Kind { get; }

    /// <inheritdoc/>
    public abstract string Model { get; }

    /// <inheritdoc/>
    public async Task<TeacherAnswer> CompleteAsync(string prompt, TeacherSettings settings, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(settings);
        var context = ResilienceContextPool.Shared.Get(ct);
        // About four characters per token is the usual English estimate; the server's own count
        // arrives with the answer, but the limiter has to decide before sending.
        context.Properties.Set(TeacherResilience.EstimatedTokens, (int)Math.Min(int.MaxValue, (prompt.Length / 4L) + ((long)settings.MaxTokens * settings.N)));
        try
        {
            return await _resilience.Pipeline.ExecuteAsync(
                static (ctx, state) => new ValueTask<TeacherAnswer>(state.Client.SendOnceAsync(state.Prompt, state.Settings, ctx.CancellationToken)),
                context,
                (Client: this, Prompt: prompt, Settings: settings)).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new TeacherRequestException("timeout", $"no answer within {Options.TimeoutSeconds} s (after {Options.MaxRetries} retries)", transient: true, inner: e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Sends one attempt and returns the answer, or throws <see cref="TeacherRequestException"/> (transient ones are retried).</summary>
    protected abstract Task<TeacherAnswer> SendOnceAsync(string prompt, TeacherSettings settings, CancellationToken ct);

    /// <summary>Turns a transport failure (connection refused, dropped, DNS) into a transient, unreachable failure.</summary>
    protected TeacherRequestException Unreachable(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new TeacherRequestException("unreachable", $"cannot reach {Options.Endpoint ?? "the teacher"}: {e.Message}", transient: true, unreachable: true, inner: e);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the rate limiters and, in subclasses, HTTP clients.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _resilience.Dispose();
        }
    }
}
