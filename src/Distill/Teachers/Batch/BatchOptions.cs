using System.Globalization;
using Skim.Core;

namespace Skim.Distill.Teachers.Batch;

/// <summary>How a Batch API run polls and splits (see <see cref="BatchCollector"/>).</summary>
public sealed record BatchOptions
{
    /// <summary>OpenAI's limit of requests per batch file.</summary>
    public const int ApiMaxRequests = 50_000;

    /// <summary>OpenAI's and Azure's limit of bytes per batch file (200 MB).</summary>
    public const long ApiMaxBytes = 200L * 1000 * 1000;

    /// <summary>Gets the seconds between two status reads of a batch. Defaults to 30.</summary>
    public double PollIntervalSeconds { get; init; } = 30;

    /// <summary>Gets the hours a run waits for its batches before it stops (they keep running on the server; the next run resumes polling). Defaults to 25 (the 24-hour window and a margin).</summary>
    public double MaxWaitHours { get; init; } = 25;

    /// <summary>Gets the most requests per batch file (larger sets are split into several batches). Defaults to 50,000.</summary>
    public int MaxRequests { get; init; } = ApiMaxRequests;

    /// <summary>Gets the most bytes per batch file. Defaults to 200 MB.</summary>
    public long MaxBytes { get; init; } = ApiMaxBytes;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!(PollIntervalSeconds > 0))
        {
            throw new SkimConfigException(string.Create(CultureInfo.InvariantCulture, $"poll_interval_seconds: expected a positive number of seconds, found {PollIntervalSeconds}"));
        }
        if (!(MaxWaitHours > 0))
        {
            throw new SkimConfigException(string.Create(CultureInfo.InvariantCulture, $"batch_max_wait_hours: expected a positive number of hours, found {MaxWaitHours}"));
        }
        if (MaxRequests is < 1 or > ApiMaxRequests)
        {
            throw new SkimConfigException(string.Create(CultureInfo.InvariantCulture, $"batch_max_requests: expected 1 to {ApiMaxRequests} requests per batch, found {MaxRequests}"));
        }
        if (MaxBytes is < 1024 or > ApiMaxBytes)
        {
            throw new SkimConfigException(string.Create(CultureInfo.InvariantCulture, $"batch_max_bytes: expected 1024 to {ApiMaxBytes} bytes per batch file, found {MaxBytes}"));
        }
    }
}

/// <summary>
/// The batches were still running on the server when the run's maximum wait ended. Nothing is
/// lost: the state is saved, the batches keep running, and the same command resumes polling.
/// </summary>
public sealed class BatchPendingException : SkimException
{
    /// <summary>Creates the exception.</summary>
    public BatchPendingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a cause.</summary>
    public BatchPendingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public BatchPendingException()
        : base("the batches are still running on the server; run again to resume polling")
    {
    }
}
