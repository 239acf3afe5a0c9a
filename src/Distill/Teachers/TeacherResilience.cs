using System.Threading.RateLimiting;
using Polly;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;

namespace Skim.Distill.Teachers;

/// <summary>
/// The Polly pipeline every live teacher call goes through, outermost first: a concurrency
/// limiter (requests in flight, retries' waits included, never exceed
/// <see cref="TeacherClientOptions.Concurrency"/>), retries with exponential backoff and jitter
/// on transient failures (429, 408, 409, 5xx, timeouts, dropped connections; a server's Retry-After
/// replaces the computed delay; other 4xx are not retried), a requests-per-minute limiter and a
/// tokens-per-minute limiter (each attempt counts, as the server counts it), and the per-attempt
/// timeout.
/// </summary>
public sealed class TeacherResilience : IDisposable
{
    /// <summary>The estimated tokens of the request in flight (prompt estimate + max_tokens × n), read by the tokens-per-minute limiter.</summary>
    public static readonly ResiliencePropertyKey<int> EstimatedTokens = new("skim.teacher.estimated-tokens");

    // A server's Retry-After is honoured up to this wait; a longer one is more likely a
    // misconfigured proxy than a real quota window, and the backoff takes over.
    private static readonly TimeSpan s_maxServerWait = TimeSpan.FromMinutes(5);

    private readonly TokenBucketRateLimiter? _requests;
    private readonly TokenBucketRateLimiter? _tokens;

    /// <summary>Builds the pipeline of <paramref name="options"/>.</summary>
    public TeacherResilience(TeacherClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new ResiliencePipelineBuilder()
            .AddConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = options.Concurrency, QueueLimit = int.MaxValue, QueueProcessingOrder = QueueProcessingOrder.OldestFirst });
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<TeacherRequestException>(e => e.IsTransient)
                    .Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(options.RetryDelaySeconds),
                MaxDelay = TimeSpan.FromMinutes(2),
                DelayGenerator = static args => ValueTask.FromResult(
                    args.Outcome.Exception is TeacherRequestException { RetryAfter: { } wait } ? (TimeSpan?)(wait < s_maxServerWait ? wait : s_maxServerWait) : null),
            });
        }
        if (options.RequestsPerMinute > 0)
        {
            // One request every 60/rpm seconds, with bursts of up to a tenth of a minute's quota.
            _requests = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = Math.Max(1, options.RequestsPerMinute / 10),
                TokensPerPeriod = 1,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1.0 / options.RequestsPerMinute),
                QueueLimit = int.MaxValue,
                AutoReplenishment = true,
            });
            builder.AddRateLimiter(_requests);
        }
        if (options.TokensPerMinute > 0)
        {
            var perSecond = Math.Max(1, options.TokensPerMinute / 60);
            _tokens = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = options.TokensPerMinute,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = int.MaxValue,
                AutoReplenishment = true,
            });
            var limiter = _tokens;
            var limit = options.TokensPerMinute;
            builder.AddRateLimiter(new RateLimiterStrategyOptions
            {
                // A request larger than a minute's quota waits for the full bucket rather than forever.
                RateLimiter = args => limiter.AcquireAsync(Math.Clamp(args.Context.Properties.GetValue(EstimatedTokens, 1), 1, limit), args.Context.CancellationToken),
            });
        }
        Pipeline = builder.AddTimeout(TimeSpan.FromSeconds(options.TimeoutSeconds)).Build();
    }

    /// <summary>Gets the pipeline.</summary>
    public ResiliencePipeline Pipeline { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        _requests?.Dispose();
        _tokens?.Dispose();
    }
}
